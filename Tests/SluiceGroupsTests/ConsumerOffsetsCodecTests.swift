import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// The `__consumer_offsets` schemas (docs/FORMAT.md §3): every key and value
/// version, exact bytes, and hostile input that must only ever throw.
@Suite struct ConsumerOffsetsCodecTests {
    func bytes(_ fill: (ByteBuffer) -> Void) -> [UInt8] {
        let out = ByteBuffer()
        fill(out)
        return out.array
    }

    func key(_ bytes: [UInt8]) throws -> ConsumerOffsetsKey {
        try bytes.withUnsafeBytes { try ConsumerOffsetsKey.decode($0) }
    }

    func value(_ bytes: [UInt8]) throws -> OffsetCommitValue {
        try bytes.withUnsafeBytes { try OffsetCommitValue.decode($0) }
    }

    @Test func offsetCommitKeyV1HasKafkasLayout() throws {
        let encoded = bytes { OffsetCommitKey(group: "g", topic: "t", partition: 3).encode(to: $0) }
        #expect(encoded == [0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 3])
        #expect(try key(encoded) == .offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 3)))
        var v0 = encoded
        v0[1] = 0
        #expect(try key(v0) == .offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 3)))
    }

    @Test func groupMetadataAndNewerRecordTypesAreRecognised() throws {
        #expect(try key([0, 2, 0, 2, 0x67, 0x31]) == .groupMetadata(group: "g1"))
        for type in Int16(3)...15 {
            #expect(try key([0, UInt8(type), 0xde, 0xad]) == .other(type: type))
        }
        #expect(throws: FormatError.self) { try key([0xff, 0xff, 0, 1, 0x67]) }
        #expect(throws: FormatError.self) { try key([0, 2, 0, 1, 0x67, 0x00]) }
        #expect(throws: FormatError.self) { try key([0, 1, 0xff, 0xff, 0, 1, 0x74, 0, 0, 0, 0]) }
    }

    @Test(arguments: Int16(0)...4)
    func everyValueVersionRoundTrips(version: Int16) throws {
        let original = OffsetCommitValue(
            offset: 42, leaderEpoch: version >= 3 ? 7 : -1, metadata: "meta é",
            commitTimestamp: 1_700_000_000_123, expireTimestamp: version == 1 ? 1_800_000_000_000 : nil)
        let encoded = bytes { original.encode(version: version, to: $0) }
        #expect(Array(encoded.prefix(2)) == [0, UInt8(version)])
        #expect(try value(encoded) == original)
    }

    @Test func valueV3HasKafkasLayout() throws {
        let encoded = bytes { OffsetCommitValue(offset: 3, metadata: "", commitTimestamp: 1_769_793_578_176).encode(to: $0) }
        let timestamp: [UInt8] = [0, 0, 0x01, 0x9c, 0x0f, 0xea, 0xe4, 0xc0]
        #expect(encoded == [0, 3] + [0, 0, 0, 0, 0, 0, 0, 3] + [0xff, 0xff, 0xff, 0xff] + [0, 0] + timestamp)
        #expect(try value(encoded) == OffsetCommitValue(offset: 3, leaderEpoch: -1, metadata: "", commitTimestamp: 1_769_793_578_176))
    }

    @Test func valueV4SkipsTaggedFields() throws {
        var encoded: [UInt8] = [0, 4] + [0, 0, 0, 0, 0, 0, 0x01, 0x00] + [0, 0, 0, 5] + [3, 0x61, 0x62] + [0, 0, 0, 0, 0, 0, 0, 9]
        encoded += [1, 0, 16] + [UInt8](repeating: 0xab, count: 16)
        #expect(try value(encoded) == OffsetCommitValue(offset: 256, leaderEpoch: 5, metadata: "ab", commitTimestamp: 9))
        var nullMetadata = encoded
        nullMetadata[14] = 0
        #expect(throws: FormatError.self) { try value(nullMetadata) }
        #expect(throws: FormatError.self) { try value(Array(encoded.dropLast(3))) }
        #expect(throws: FormatError.self) { try value([0, 5] + encoded.dropFirst(2)) }
    }

    @Test func groupPartitionIsKafkas() {
        #expect(ConsumerOffsetsPartitioner.partition(forGroup: "DEVSmileCDR") == 6)
        #expect(abs(ConsumerOffsetsPartitioner.javaHashCode("DEVSmileCDR")) == 551_467_806)
        #expect(ConsumerOffsetsPartitioner.javaHashCode("polygenelubricants") == Int32.min)
        #expect(ConsumerOffsetsPartitioner.partition(forGroup: "polygenelubricants") == 0)
        #expect(ConsumerOffsetsPartitioner.javaHashCode("") == 0)
        #expect(ConsumerOffsetsPartitioner.javaHashCode("😀") == 31 * 0xD83D + 0xDE00)
    }

    @Test func hostileBytesOnlyEverThrow() throws {
        var random = SeededRandom(seed: 20_261_121)
        let valid = bytes { OffsetCommitValue(offset: 9, metadata: "x", commitTimestamp: 1).encode(version: 4, to: $0) }
        let validKey = bytes { OffsetCommitKey(group: "group", topic: "topic", partition: 1).encode(to: $0) }
        for cut in 0..<valid.count { #expect(throws: FormatError.self) { try value(Array(valid.prefix(cut))) } }
        for cut in 0..<validKey.count { #expect(throws: FormatError.self) { try key(Array(validKey.prefix(cut))) } }
        for _ in 0..<20_000 {
            var noise = (0..<Int.random(in: 0...48, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if noise.count >= 2 && Bool.random(using: &random) { noise[0] = 0; noise[1] = UInt8.random(in: 0...4, using: &random) }
            _ = try? key(noise)
            _ = try? value(noise)
            var mutated = Bool.random(using: &random) ? valid : validKey
            mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            _ = try? key(mutated)
            _ = try? value(mutated)
        }
    }
}
