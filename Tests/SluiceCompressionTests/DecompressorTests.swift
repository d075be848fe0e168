import SluiceCore
import TestSupport
import Testing

@testable import SluiceCompression

/// Every Kafka codec sluice reads, with the compressor its tests make inputs with.
enum Codec: String, CaseIterable, CustomStringConvertible {
    case gzip, snappy, snappyXerial, lz4, zstd

    var description: String { rawValue }

    func compress(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .gzip: return TestCompression.gzip(data)
        case .snappy: return TestCompression.snappy(data)
        case .snappyXerial: return TestCompression.snappyXerial(data)
        case .lz4: return TestCompression.lz4(data)
        case .zstd: return TestCompression.zstd(data)
        }
    }

    func decompressor() -> Decompressor {
        switch self {
        case .gzip: return GzipDecompressor()
        case .snappy, .snappyXerial: return SnappyDecompressor()
        case .lz4: return LZ4Decompressor()
        case .zstd: return ZstdDecompressor()
        }
    }
}

/// JSON-like records, as a Kafka batch of application events holds them.
func jsonRecords(count: Int, seed: UInt64 = 7) -> [UInt8] {
    var random = SeededRandom(seed: seed)
    var text = ""
    for i in 0..<count {
        let amount = Int.random(in: 0..<100_000, using: &random)
        text +=
            #"""
            {"order":\#(i),"customer":"customer-\#(amount % 997)","amount":\#(amount / 100).\#(amount % 100),\#
            "status":"\#(["new", "paid", "shipped"][i % 3])"}
            """#
        text += "\n"
    }
    return Array(text.utf8)
}

/// Decompresses into a fresh buffer and returns its bytes.
func decompress(_ codec: Codec, _ input: [UInt8], limit: Int = 1 << 26, with decompressor: Decompressor? = nil) throws -> [UInt8] {
    let out = ByteBuffer(capacity: 16)
    try input.withUnsafeBytes { try (decompressor ?? codec.decompressor()).decompress($0, appendingTo: out, limit: limit) }
    return out.array
}

func isCorruptData(_ error: any Error) -> Bool {
    (error as? SluiceError)?.reason == .corruptCompressedData
}

@Suite struct DecompressorTests {
    let records = jsonRecords(count: 3000)

    @Test(arguments: Codec.allCases)
    func roundTripsAndAppendsToWhatTheBufferHolds(codec: Codec) throws {
        let compressed = codec.compress(records)
        #expect(compressed.count < records.count / 2)
        let out = ByteBuffer()
        out.append(Array("kept".utf8))
        let decompressor = codec.decompressor()
        try compressed.withUnsafeBytes { try decompressor.decompress($0, appendingTo: out, limit: records.count) }
        #expect(out.array == Array("kept".utf8) + records)
    }

    @Test(arguments: Codec.allCases)
    func exactlyTheLimitDecodesAndOneByteLessFails(codec: Codec) throws {
        let compressed = codec.compress(records)
        #expect(try decompress(codec, compressed, limit: records.count) == records)
        let error = #expect(throws: SluiceError.self) { try decompress(codec, compressed, limit: records.count - 1) }
        #expect(error?.reason == .corruptCompressedData)
        #expect(error?.message.contains("limit") == true)
    }

    @Test(arguments: Codec.allCases)
    func aContextIsReusedAfterAFailure(codec: Codec) throws {
        let decompressor = codec.decompressor()
        let compressed = codec.compress(records)
        for _ in 0..<3 {
            #expect(throws: SluiceError.self) { try decompress(codec, Array(compressed.dropLast(3)), with: decompressor) }
            #expect(try decompress(codec, compressed, with: decompressor) == records)
        }
    }

    @Test(arguments: Codec.allCases)
    func truncatedStreamsFail(codec: Codec) throws {
        let compressed = codec.compress(records)
        // Not at a xerial chunk boundary: that framing has no end marker, so a
        // cut between chunks is only caught by the batch's record count.
        for cut in [0, 1, 7, 19, compressed.count / 3 + 1, compressed.count - 1] {
            #expect(throws: SluiceError.self, "cut at \(cut)") { try decompress(codec, Array(compressed[0..<cut])) }
        }
    }

    /// Every single-bit flip either fails as corrupt data or decodes to at most
    /// `limit` bytes: formats without checksums (raw snappy, lz4 as Kafka
    /// writes it) can turn a flipped literal into different output.
    @Test(arguments: Codec.allCases)
    func flippedBitsFailOrStayWithinTheLimit(codec: Codec) throws {
        let sample = Array(records[0..<600])
        let compressed = codec.compress(sample)
        let decompressor = codec.decompressor()
        var failures = 0
        for bit in 0..<(compressed.count * 8) {
            var damaged = compressed
            damaged[bit / 8] ^= 1 << (bit % 8)
            do {
                #expect(try decompress(codec, damaged, limit: 4096, with: decompressor).count <= 4096)
            } catch {
                #expect(isCorruptData(error), "bit \(bit): \(error)")
                failures += 1
            }
        }
        #expect(failures > compressed.count, "most flips must be detected")
    }

    @Test(arguments: Codec.allCases)
    func garbageAndEmptyInputFail(codec: Codec) throws {
        var random = SeededRandom(seed: 99)
        for size in [0, 1, 5, 64, 4096] {
            let garbage = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let error = #expect(throws: SluiceError.self, "\(size) bytes") { try decompress(codec, garbage, limit: 1 << 20) }
            #expect(error?.reason == .corruptCompressedData)
        }
    }

    /// 4 MiB of zeros compresses to a few KiB; with a 64 KiB limit every codec
    /// stops there; raw snappy, which declares its size, before allocating.
    @Test(arguments: Codec.allCases)
    func expansionBeyondTheLimitFailsWithBoundedMemory(codec: Codec) throws {
        let bomb = codec.compress([UInt8](repeating: 0, count: 4 << 20))
        let limit = 64 << 10
        let out = ByteBuffer(capacity: 16)
        let error = #expect(throws: SluiceError.self) {
            try bomb.withUnsafeBytes { try codec.decompressor().decompress($0, appendingTo: out, limit: limit) }
        }
        #expect(error?.reason == .corruptCompressedData)
        #expect(out.count <= limit && out.capacity <= 2 * limit)
        if codec == .snappy {
            #expect(out.capacity == 16, "the declared length is checked before reserving")
        }
    }

    @Test func declaredSizesFarAboveTheLimitFailBeforeAnyAllocation() throws {
        // Raw snappy whose length varint claims 4 GiB - 1, followed by nothing.
        let snappyClaim: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        // A xerial chunk holding that claim.
        let xerialClaim = SnappyDecompressor.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1] + TestCompression.bigEndian(UInt32(5)) + snappyClaim
        // An lz4 frame that declares its 8 MiB content size.
        let lz4Claim = Array(TestCompression.lz4([UInt8](repeating: 1, count: 8 << 20), declaringSize: true).prefix(64))
        for (codec, input) in [(Codec.snappy, snappyClaim), (.snappyXerial, xerialClaim), (.lz4, lz4Claim)] {
            let out = ByteBuffer(capacity: 16)
            let error = #expect(throws: SluiceError.self, "\(codec)") {
                try input.withUnsafeBytes { try codec.decompressor().decompress($0, appendingTo: out, limit: 1 << 20) }
            }
            #expect(error?.message.contains("declares") == true, "\(codec): \(String(describing: error))")
            #expect(out.capacity == 16)
        }
    }
}

@Suite struct GzipTests {
    @Test func concatenatedMembersDecodeInOrder() throws {
        let first = Array("first member\n".utf8), second = jsonRecords(count: 50)
        #expect(try decompress(.gzip, TestCompression.gzip(first) + TestCompression.gzip(second)) == first + second)
    }

    @Test func bytesAfterTheMemberAreCorruption() throws {
        let member = TestCompression.gzip(jsonRecords(count: 5))
        let error = #expect(throws: SluiceError.self) { try decompress(.gzip, member + [UInt8](repeating: 0xAA, count: 16)) }
        #expect(error?.message.contains("not a gzip member") == true)
        #expect(throws: SluiceError.self) { try decompress(.gzip, member + [0x1F, 0x8B, 0x08]) }
    }

    @Test func theTrailerCRCAndLengthAreChecked() throws {
        let member = TestCompression.gzip(jsonRecords(count: 20))
        for position in (member.count - 8)..<member.count {
            var damaged = member
            damaged[position] ^= 0x01
            let error = #expect(throws: SluiceError.self, "trailer byte \(position - member.count + 8)") { try decompress(.gzip, damaged) }
            #expect(error?.message.contains("trailer") == true)
        }
    }

    /// Python's gzip module with a file name in the header (FNAME), which the header parser must skip.
    @Test func optionalHeaderFieldsAreSkipped() throws {
        let member: [UInt8] = [
            0x1F, 0x8B, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0xFF, 0x72, 0x65, 0x63, 0x6F, 0x72, 0x64, 0x73, 0x2E, 0x6A,
            0x73, 0x6F, 0x6E, 0x00, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x57, 0xC8, 0x4E, 0x4C, 0xCB, 0x4E, 0x04, 0x00, 0xD1, 0x75,
            0x81, 0x6C, 0x0B, 0x00, 0x00, 0x00,
        ]
        #expect(try decompress(.gzip, member) == Array("hello kafka".utf8))
    }
}

@Suite struct SnappyTests {
    @Test func xerialChunksAreConcatenated() throws {
        let data = jsonRecords(count: 2000)
        let framed = TestCompression.snappyXerial(data, chunkSize: 10_000)
        #expect(data.count > 5 * 10_000)
        #expect(try decompress(.snappyXerial, framed) == data)
    }

    @Test func aXerialHeaderAloneIsEmpty() throws {
        #expect(try decompress(.snappyXerial, SnappyDecompressor.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1]) == [])
    }

    @Test func impossibleXerialChunkLengthsFail() throws {
        let header = SnappyDecompressor.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1]
        for chunkLength: Int32 in [-1, 1000, Int32.max] {
            let error = #expect(throws: SluiceError.self) {
                try decompress(.snappyXerial, header + TestCompression.bigEndian(chunkLength) + [1, 2, 3])
            }
            #expect(error?.message.contains("chunk length") == true)
        }
    }
}

@Suite struct LZ4Tests {
    @Test func checksummedFramesWithDeclaredSizesDecode() throws {
        let data = jsonRecords(count: 500)
        #expect(try decompress(.lz4, TestCompression.lz4(data, declaringSize: true, checksums: true)) == data)
    }

    @Test func aDamagedContentChecksumFails() throws {
        var frame = TestCompression.lz4(jsonRecords(count: 500), checksums: true)
        frame[frame.count - 2] ^= 0x40
        #expect(throws: SluiceError.self) { try decompress(.lz4, frame) }
    }

    @Test func bytesAfterTheFrameAreCorruption() throws {
        let error = #expect(throws: SluiceError.self) { try decompress(.lz4, TestCompression.lz4(jsonRecords(count: 5)) + [7]) }
        #expect(error?.message.contains("follow the frame") == true)
    }

    /// Kafka before 0.10 (magic 0) wrote a wrong header checksum, computed
    /// over the magic number as well (KAFKA-3160); its reader ignores it.
    @Test func magicZeroFramesWithKafkasBrokenHeaderChecksumDecode() throws {
        let data = jsonRecords(count: 100)
        for declaringSize in [false, true] {
            var frame = TestCompression.lz4(data, declaringSize: declaringSize)
            let checksumAt = declaringSize ? 14 : 6
            frame[checksumAt] = UInt8(truncatingIfNeeded: XXH32.hash(frame[0..<checksumAt]) >> 8)
            let error = #expect(throws: SluiceError.self) { try decompress(.lz4, frame) }
            #expect(error?.message.contains("eader") == true, "\(String(describing: error))")
            let out = ByteBuffer()
            try frame.withUnsafeBytes {
                try LZ4Decompressor().decompress($0, appendingTo: out, limit: 1 << 20, ignoringHeaderChecksum: true)
            }
            #expect(out.array == data)
        }
    }

    @Test func xxHash32MatchesTheReferenceVectors() {
        #expect(XXH32.hash([]) == 0x02CC_5D05)
        #expect(XXH32.hash(ArraySlice("abc".utf8)) == 0x32D1_53FF)
        #expect(XXH32.hash(ArraySlice("123456789012345".utf8)) == 0xDA7B_17E8)
    }
}

/// The streaming zstd decoder archives are read with.
@Suite struct ZstdStreamDecoderTests {
    /// A stream whose content is an exact multiple of the decoder's output
    /// buffer ends with that buffer exactly full: it is complete, not open.
    @Test(arguments: [1, 3, 15])
    func aFrameEndingWithTheOutputBufferFullIsComplete(buffers: Int) throws {
        var random = SeededRandom(seed: UInt64(buffers))
        let content = (0..<(buffers * ZSTD_DStreamOutSize_value)).map { _ in UInt8.random(in: 0...15, using: &random) }
        let compressed = TestCompression.zstd(content)
        for chunk in [compressed.count, 7, 1000] {
            let decoder = ZstdStreamDecoder()
            var out: [UInt8] = []
            var at = 0
            while at < compressed.count {
                let end = min(at + chunk, compressed.count)
                try compressed[at..<end].withUnsafeBytes { try decoder.feed($0) { out += $0 } }
                at = end
            }
            try decoder.finish()
            #expect(out == content, "fed in chunks of \(chunk)")
        }
        let truncated = ZstdStreamDecoder()
        try compressed.dropLast(3).withUnsafeBytes { try truncated.feed($0) { _ in } }
        #expect(throws: SluiceError.self) { try truncated.finish() }
    }
}

/// `ZSTD_DStreamOutSize()`: one full zstd block, 128 KiB.
let ZSTD_DStreamOutSize_value = 131_072
