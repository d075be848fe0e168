import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// Compresses a records area with a codec sluice only reads (or zstd).
func compress(_ area: [UInt8], _ codec: CompressionCodec) -> [UInt8] {
    switch codec {
    case .none: return area
    case .gzip: return TestCompression.gzip(area)
    case .snappy: return TestCompression.snappyXerial(area)
    case .lz4: return TestCompression.lz4(area)
    case .zstd: return TestCompression.zstd(area)
    }
}

/// `batch` (an uncompressed batch) with its records area replaced by `area`,
/// its codec bits set to `codec`, its length and CRC-32C made to match: a
/// valid batch whatever `area` holds.
func rewrap(_ batch: [UInt8], area: [UInt8], codec: Int16) -> [UInt8] {
    var bytes = Array(batch[0..<RecordBatchHeader.size]) + area
    bytes.withUnsafeMutableBytes { raw in
        var header = RecordBatchHeader(raw.baseAddress!)
        header.attributes = header.attributes & ~0x07 | codec
        header.batchLength = Int32(raw.count - RecordBatchHeader.logOverhead)
        header.write(to: raw.baseAddress!)
        header.crc = CRC32C.checksum(
            raw.baseAddress! + RecordBatchHeader.attributesOffset, count: raw.count - RecordBatchHeader.attributesOffset)
        header.write(to: raw.baseAddress!)
    }
    return bytes
}

@Suite struct CompressedBatchTests {
    @Test(arguments: CompressionCodec.allCases)
    func everyCodecDecodesABatchOfFiveHundredRecords(codec: CompressionCodec) throws {
        let (plain, expected) = try BatchBuilderTests().build(.none, count: 500)
        let batch = rewrap(plain, area: compress(Array(plain[RecordBatchHeader.size...]), codec), codec: codec.rawValue)
        let (header, records) = try decodeBatch(batch)
        #expect(header.compression == codec)
        #expect(records == expected)
    }

    /// A batch whose CRC is right but whose compressed records are not (a
    /// writer's bug, or forged bytes) fails as invalid, naming the codec.
    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func corruptCompressedRecordsAreInvalid(codec: CompressionCodec) throws {
        let (plain, _) = try BatchBuilderTests().build(.none, count: 50)
        let compressed = compress(Array(plain[RecordBatchHeader.size...]), codec)
        let areas = [("truncated", Array(compressed.dropLast(5))), ("garbage", [UInt8](repeating: 0xA5, count: 300)), ("empty", [])]
        for (what, area) in areas {
            let error = #expect(throws: FormatError.self, "\(what)") {
                _ = try decodeBatch(rewrap(plain, area: area, codec: codec.rawValue))
            }
            #expect(
                error?.description.hasPrefix("\(codec.name) records do not decompress") == true, "\(what): \(String(describing: error))")
        }
    }

    @Test(arguments: [Int16(5), 6, 7])
    func undefinedCodecValuesAreUnsupported(value: Int16) throws {
        let (plain, _) = try BatchBuilderTests().build(.none, count: 3)
        let batch = rewrap(plain, area: Array(plain[RecordBatchHeader.size...]), codec: value)
        batch.withUnsafeBytes { raw in
            let error = #expect(throws: FormatError.unsupportedCompression(value)) {
                _ = try BatchDecoder().records(of: raw, header: RecordBatchHeader(raw.baseAddress!))
            }
            #expect(error?.description.contains("invalid compression codec \(value)") == true)
        }
    }
}
