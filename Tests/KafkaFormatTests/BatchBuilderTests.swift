import KafkaFormat
import SluiceCore
import Testing

@Suite struct BatchBuilderTests {
    func build(_ codec: CompressionCodec, count: Int) throws -> ([UInt8], [OwnedRecord]) {
        let builder = RecordBatchBuilder(codec: codec)
        var expected: [OwnedRecord] = []
        for i in 0..<count {
            let key: [UInt8]? = i % 5 == 0 ? nil : Array("key-\(i % 7)".utf8)
            let value: [UInt8]? = i % 11 == 3 ? nil : Array("value \(i) ".utf8) + [UInt8](repeating: UInt8(i % 256), count: i % 40)
            let headers = ByteBuffer()
            let headerCount = i % 3
            var pairs: [OwnedRecord.Pair] = []
            for h in 0..<headerCount {
                HeaderEncoding.appendEntry(key: "h\(h)", value: h == 1 ? nil : "v\(i)", to: headers)
                pairs.append(.init(key: "h\(h)", value: h == 1 ? nil : Array("v\(i)".utf8)))
            }
            let timestamp = 1_700_000_000_000 + Int64(i * 7) - (i == 4 ? 5000 : 0)
            withOptionalBytes(key) { k in
                withOptionalBytes(value) { v in
                    builder.append(timestamp: timestamp, key: k, value: v, headerCount: headerCount, encodedHeaders: headers.bytes)
                }
            }
            var record = OwnedRecord(Record(offset: 1000 + Int64(i), timestamp: timestamp, key: nil, value: nil))
            record.key = key
            record.value = value
            record.headers = pairs
            expected.append(record)
        }
        let out = ByteBuffer()
        try builder.finish(baseOffset: 1000, into: out)
        return (out.array, expected)
    }

    @Test(arguments: [CompressionCodec.none, .zstd])
    func builtBatchesDecodeToWhatWasAppended(codec: CompressionCodec) throws {
        let (bytes, expected) = try build(codec, count: 500)
        let (header, records) = try decodeBatch(bytes)
        #expect(header.baseOffset == 1000)
        #expect(header.lastOffset == 1499)
        #expect(header.recordsCount == 500)
        #expect(header.compression == codec)
        #expect(header.maxTimestamp == expected.map(\.timestamp).max())
        #expect(header.partitionLeaderEpoch == 0 && header.producerId == -1)
        #expect(records == expected)
    }

    @Test func zstdShrinksRepetitiveRecords() throws {
        let (plain, _) = try build(.none, count: 500)
        let (compressed, _) = try build(.zstd, count: 500)
        #expect(compressed.count < plain.count)
    }

    @Test func rebaseDoesNotTouchTheCRC() throws {
        var (bytes, _) = try build(.none, count: 10)
        bytes.withUnsafeMutableBytes { RecordBatchHeader.rebase($0.baseAddress!, to: 77) }
        let (header, records) = try decodeBatch(bytes)
        #expect(header.baseOffset == 77)
        #expect(records.first?.offset == 77)
    }
}

func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
