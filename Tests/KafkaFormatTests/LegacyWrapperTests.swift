import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// One legacy message-set entry (docs/FORMAT.md §1.8) with a correct CRC-32.
func legacyEntry(offset: Int64, magic: Int8, attributes: Int8 = 0, timestamp: Int64 = 0, key: [UInt8]?, value: [UInt8]?) -> [UInt8] {
    var body: [UInt8] = [UInt8(bitPattern: magic), UInt8(bitPattern: attributes)]
    if magic == 1 { body += TestCompression.bigEndian(timestamp) }
    for field in [key, value] {
        body += field.map { TestCompression.bigEndian(Int32($0.count)) + $0 } ?? TestCompression.bigEndian(Int32(-1))
    }
    let crc = body.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: $0.count) }
    return TestCompression.bigEndian(offset) + TestCompression.bigEndian(Int32(body.count + 4)) + TestCompression.bigEndian(crc) + body
}

/// Messages `name-0`, `name-1`, ... at `offsets`, timestamped 1000 + offset.
func innerSet(_ offsets: [Int64], magic: Int8 = 1) -> [UInt8] {
    offsets.flatMap { legacyEntry(offset: $0, magic: magic, timestamp: 1000 + $0, key: Array("k\($0)".utf8), value: Array("v\($0)".utf8)) }
}

/// A compressed wrapper around `inner` (already a message set).
func wrapper(
    offset: Int64, magic: Int8 = 1, codec: CompressionCodec = .gzip, logAppendTime: Bool = false, timestamp: Int64 = 5000,
    inner: [UInt8]
) -> [UInt8] {
    legacyEntry(
        offset: offset, magic: magic, attributes: Int8(codec.rawValue) | (logAppendTime ? 0x08 : 0), timestamp: timestamp,
        key: nil, value: compress(inner, codec))
}

/// The messages a legacy entry stands for, copied out.
func expand(_ entry: [UInt8]) throws -> [OwnedRecord] {
    try entry.withUnsafeBytes { raw in
        try BatchDecoder().messages(of: try LegacyMessage.parse(raw)).map { OwnedRecord($0.record) }
    }
}

func invalidMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

@Suite struct LegacyWrapperTests {
    /// Magic 1: inner offsets are relative, the wrapper holds the last one's absolute offset.
    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func magicOneWrappersYieldAbsoluteOffsets(codec: CompressionCodec) throws {
        let records = try expand(wrapper(offset: 42, codec: codec, inner: innerSet([0, 1, 2])))
        #expect(records.map(\.offset) == [40, 41, 42])
        #expect(records.map(\.timestamp) == [1000, 1001, 1002])
        #expect(records.map(\.key) == [Array("k0".utf8), Array("k1".utf8), Array("k2".utf8)])
        #expect(records.map(\.value) == [Array("v0".utf8), Array("v1".utf8), Array("v2".utf8)])
    }

    /// Raw snappy (no xerial framing) inside a wrapper decodes too.
    @Test func rawSnappyWrappersDecode() throws {
        let entry = legacyEntry(offset: 7, magic: 1, attributes: 2, key: nil, value: TestCompression.snappy(innerSet([0, 1])))
        #expect(try expand(entry).map(\.offset) == [6, 7])
    }

    /// Magic 0: inner offsets are absolute already.
    @Test func magicZeroWrappersKeepTheirOffsets() throws {
        let records = try expand(wrapper(offset: 12, magic: 0, inner: innerSet([10, 11, 12], magic: 0)))
        #expect(records.map(\.offset) == [10, 11, 12])
        #expect(records.allSatisfy { $0.timestamp == -1 })
    }

    /// Kafka before 0.10 wrote lz4 frames with a wrong header checksum; in magic 0 it is not checked, in magic 1 it is.
    @Test func magicZeroLZ4WrappersIgnoreTheHeaderChecksum() throws {
        for magic: Int8 in [0, 1] {
            var frame = TestCompression.lz4(innerSet([3, 4], magic: magic))
            frame[6] ^= 0xFF
            let entry = legacyEntry(offset: 4, magic: magic, attributes: 3, key: nil, value: frame)
            if magic == 0 {
                #expect(try expand(entry).map(\.offset) == [3, 4])
            } else {
                #expect(invalidMessage { _ = try expand(entry) }?.contains("lz4 messages do not decompress") == true)
            }
        }
    }

    @Test func logAppendTimeWrappersGiveTheirTimestampToEveryMessage() throws {
        let records = try expand(wrapper(offset: 1, logAppendTime: true, timestamp: 777, inner: innerSet([0, 1])))
        #expect(records.map(\.timestamp) == [777, 777])
    }

    @Test func invalidWrappersAreRefused() throws {
        var damagedInner = innerSet([0, 1])
        damagedInner[damagedInner.count - 1] ^= 0x01
        let cases: [(String, [UInt8], String)] = [
            ("nested", wrapper(offset: 1, inner: wrapper(offset: 0, inner: innerSet([0])) + innerSet([1])), "nested"),
            ("magic mismatch", wrapper(offset: 1, inner: innerSet([0, 1], magic: 0)), "magic-0 message inside the magic-1 wrapper"),
            ("inner CRC", wrapper(offset: 1, inner: damagedInner), "CRC mismatch"),
            ("empty", wrapper(offset: 1, inner: []), "holds no messages"),
            ("offsets go back", wrapper(offset: 2, inner: innerSet([0, 2, 1])), "go back"),
            ("magic 0 ends elsewhere", wrapper(offset: 9, magic: 0, inner: innerSet([3, 4], magic: 0)), "must end at its own"),
            ("negative offsets", wrapper(offset: 1, inner: innerSet([0, 5])), "must end at its own"),
            ("truncated set", wrapper(offset: 1, inner: Array(innerSet([0, 1]).dropLast(3))), "claims"),
            ("cut framing", wrapper(offset: 0, inner: innerSet([0]) + [0, 0, 0]), "truncated"),
            ("null value", legacyEntry(offset: 1, magic: 1, attributes: 1, key: nil, value: nil), "null value"),
        ]
        for (name, entry, expected) in cases {
            let message = invalidMessage { _ = try expand(entry) }
            #expect(message?.contains(expected) == true, "\(name): \(message ?? "decoded")")
        }
    }

    @Test(arguments: [Int8(5), 6, 7])
    func undefinedCodecValuesAreRefusedByTheParser(value: Int8) throws {
        let entry = legacyEntry(offset: 0, magic: 1, attributes: value, key: nil, value: Array("x".utf8))
        entry.withUnsafeBytes { raw in
            #expect(throws: FormatError.unsupportedCompression(Int16(value))) { _ = try LegacyMessage.parse(raw) }
        }
    }

    @Test func uncompressedMessagesStandForThemselves() throws {
        #expect(try expand(legacyEntry(offset: 9, magic: 1, timestamp: 3, key: nil, value: Array("v".utf8))).map(\.offset) == [9])
    }
}
