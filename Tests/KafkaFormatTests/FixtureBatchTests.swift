import KafkaFormat
import SluiceCompression
import SluiceCore
import TestSupport
import Testing

/// A record copied out of its batch, for comparisons.
struct OwnedRecord: Equatable {
    var offset: Int64
    var timestamp: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [Pair]

    struct Pair: Equatable {
        var key: String
        var value: [UInt8]?
    }

    init(_ r: Record) {
        offset = r.offset
        timestamp = r.timestamp
        key = r.key.map(Array.init)
        value = r.value.map(Array.init)
        headers = r.headers.map { Pair(key: String(decoding: $0.key, as: UTF8.self), value: $0.value.map(Array.init)) }
    }
}

/// Decodes one complete batch: validates it, then copies out its records.
func decodeBatch(_ bytes: [UInt8]) throws -> (RecordBatchHeader, [OwnedRecord]) {
    try bytes.withUnsafeBytes { raw in
        let header = RecordBatchHeader(raw.baseAddress!)
        try header.validate(raw)
        var iterator = try BatchDecoder().records(of: raw, header: header)
        var records: [OwnedRecord] = []
        while let r = try iterator.next() { records.append(OwnedRecord(r)) }
        return (header, records)
    }
}

/// Every record of a record set (a segment slice): v2 batches and legacy
/// messages, compressed legacy wrappers expanded into their messages.
func decodeRecordSet(_ bytes: [UInt8]) throws -> [OwnedRecord] {
    let decoder = BatchDecoder()
    var records: [OwnedRecord] = []
    try bytes.withUnsafeBytes { raw in
        var position = 0
        while position < raw.count {
            let frame = LogEntryFrame.inspect(raw, at: position)
            switch frame {
            case .batch(let size):
                let (_, batch) = try decodeBatch(Array(raw[position..<(position + size)]))
                records += batch
                position += size
            case .legacy(let size, _):
                let message = try LegacyMessage.parse(UnsafeRawBufferPointer(rebasing: raw[position..<(position + size)]))
                records += try decoder.messages(of: message).map { OwnedRecord($0.record) }
                position += size
            case .incomplete, .invalid:
                Issue.record("\(frame) at byte \(position)")
                return
            }
        }
    }
    return records
}

/// rskafka's captured librdkafka batches and the worked examples of docs/FORMAT.md §1.9–1.10.
@Suite struct FixtureBatchTests {
    let x100 = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
    let helloKafka = Array("hello kafka".utf8)
    let fooBar = OwnedRecord.Pair(key: "foo", value: Array("bar".utf8))

    @Test func zstdBatchDecodes() throws {
        let bytes = try Fixtures.bytes("rskafka-batches/test_decode_fixture_zstd.bin")
        #expect(bytes.count == 105)
        let (header, records) = try decodeBatch(bytes)
        #expect(header.crc == 0xa16e_4e95)
        #expect(header.compression == .zstd)
        #expect(header.baseTimestamp == 1_643_889_882_029)
        #expect(records.count == 1)
        #expect(records[0].key == x100)
        #expect(records[0].value == helloKafka)
        #expect(records[0].headers == [fooBar])
    }

    @Test func uncompressedBatchHasEmptyNotNullKey() throws {
        let (_, records) = try decodeBatch(try Fixtures.bytes("rskafka-batches/test_decode_fixture_nocompression.bin"))
        #expect(records.count == 1)
        #expect(records[0].key == [])
        #expect(records[0].value == helloKafka)
        #expect(records[0].headers == [fooBar])
    }

    @Test func nullKeyBatch() throws {
        let (_, records) = try decodeBatch(try Fixtures.bytes("rskafka-batches/test_decode_fixture_null_key.bin"))
        #expect(records.count == 1)
        #expect(records[0].key == nil)
        #expect(records[0].headers.first?.key == "content-type")
    }

    @Test(arguments: [("gzip", CompressionCodec.gzip), ("lz4", .lz4), ("snappy", .snappy)])
    func librdkafkaCompressedBatchesDecode(name: String, codec: CompressionCodec) throws {
        let (header, records) = try decodeBatch(try Fixtures.bytes("rskafka-batches/test_decode_fixture_\(name).bin"))
        #expect(header.compression == codec)
        #expect(records.count == 1)
        #expect(records[0].offset == 0)
        #expect(records[0].key == x100)
        #expect(records[0].value == helloKafka)
        #expect(records[0].headers == [fooBar])
    }

    /// Snappy in xerial framing, as Kafka's Java clients write it.
    @Test func snappyJavaBatchDecodes() throws {
        let bytes = try Fixtures.bytes("rskafka-batches/test_decode_fixture_snappy_java.bin")
        #expect(
            bytes.withUnsafeBytes { raw in
                SnappyDecompressor.xerialMagic.elementsEqual(raw[RecordBatchHeader.size..<(RecordBatchHeader.size + 8)])
            })
        let (header, records) = try decodeBatch(bytes)
        #expect(header.compression == .snappy)
        #expect(records.map(\.offset) == [0, 1])
        #expect(records.map(\.value) == [helloKafka, Array("some value".utf8)])
    }

    @Test func firstBrokerWrittenBatchOfTestTopicA() throws {
        let log = try Fixtures.bytes("pinterest-test_topic_a/test_topic_a-0/00000000000000000000.log")
        let (header, records) = try decodeBatch(Array(log[0..<2076]))
        #expect(header.baseOffset == 0 && header.lastOffset == 36)
        #expect(header.crc == 2_189_794_402)
        #expect(header.baseTimestamp == 1_700_691_401_835 && header.maxTimestamp == 1_700_691_401_839)
        #expect(records.count == 37)
        #expect(records.map(\.offset) == Array(0...36))
    }

    @Test func kafkaGoFetchRecordSetsStartWhereTheREADMESays() throws {
        let v2 = try Fixtures.hex("kafka-go-fetch/kgo_v2-v2.hex")
        #expect(try KafkaGoFetch.recordSet("kgo_v2-v2.hex") == Array(v2[76..<(76 + 302)]))
        let v2c = try Fixtures.hex("kafka-go-fetch/kgo_v2c-v2c.hex")
        #expect(try KafkaGoFetch.recordSet("kgo_v2c-v2c.hex") == Array(v2c[78..<(78 + 268)]))
    }

    /// Every capture decodes completely: gzip v2 batches and gzip legacy
    /// wrappers included, with contiguous offsets from 0.
    @Test(arguments: KafkaGoFetch.captures.map(\.file))
    func kafkaGoFetchRecordSetsDecodeCompletely(file: String) throws {
        let keys = KafkaGoFetch.captures.first { $0.file == file }!.keys
        let records = try decodeRecordSet(try KafkaGoFetch.recordSet(file))
        #expect(records.map(\.offset) == Array(0..<Int64(keys.count)))
        #expect(records.map { String(decoding: $0.key!, as: UTF8.self) } == keys)
        #expect(records.map { String(decoding: $0.value!, as: UTF8.self) } == keys.map(KafkaGoFetch.value(forKey:)))
    }

    /// Inside a magic-1 gzip wrapper each message keeps its own CreateTime;
    /// the wrapper carries the last one's.
    @Test func legacyWrappedMessagesKeepTheirTimestamps() throws {
        let records = try decodeRecordSet(try KafkaGoFetch.recordSet("kgo_v1c-v1c.hex"))
        #expect(records.map(\.timestamp) == [1_633_413_948_492, 1_633_413_948_532, 1_633_413_977_589, 1_633_413_979_484])
    }

    @Test func legacyMagicOneMessages() throws {
        let bytes = try Fixtures.hex("kafka-go-fetch/kgo_v1-v1.hex")
        let recordSet = Array(bytes[75..<(75 + 287)])
        var keys: [String] = []
        try recordSet.withUnsafeBytes { raw in
            var position = 0
            while position < raw.count {
                guard case .legacy(let size, let magic) = LogEntryFrame.inspect(raw, at: position) else {
                    Issue.record("expected legacy"); return
                }
                #expect(magic == 1)
                let message = try LegacyMessage.parse(UnsafeRawBufferPointer(rebasing: raw[position..<(position + size)]))
                keys.append(String(decoding: message.key!, as: UTF8.self))
                position += size
            }
        }
        #expect(keys == ["alpha", "beta", "gamma", "delta"])
    }

    @Test func flippedBitIsACRCMismatch() throws {
        var bytes = try Fixtures.bytes("rskafka-batches/test_decode_fixture_zstd.bin")
        bytes[80] ^= 0x10
        #expect(throws: FormatError.self) { _ = try decodeBatch(bytes) }
    }
}
