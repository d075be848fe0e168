import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// `PartitionTimestamps`: the timestamp of the first record at or after an offset.
@Suite struct PartitionTimestampsTests {
    /// Record i's timestamp: distinct per record, so a wrong record shows.
    static func timestamp(_ i: Int) -> Int64 { 1_700_000_000_000 + Int64(i) * 10 }

    /// A partition of 500 records in zstd batches of 50, over several
    /// segments with offset index entries, so lookups go through the index.
    func compressedPartition(_ dir: TemporaryDirectory) throws -> (Partition, [StoredRecord]) {
        let partition = try makeTopic(dir, config: ["segment.bytes=4096", "index.interval.bytes=256"]).partition(0)
        let appender = try PartitionAppender(partition: partition)
        var records: [StoredRecord] = []
        for round in 0..<10 {
            records += try appendRecords(appender, count: 50, perBatch: 50, startIndex: round * 50, codec: .zstd, timestamp: Self.timestamp)
        }
        try appender.sync()
        return (partition, records)
    }

    /// A read-only partition whose one segment, based at 0, holds `log`.
    func partition(holding log: [UInt8], in dir: TemporaryDirectory) throws -> Partition {
        let directory = dir.file("raw-0")
        try FileSystem.makeDirectories(directory)
        try FileSystem.writeAtomically(directory + "/00000000000000000000.log", log)
        return Partition(topic: "raw", index: 0, directory: directory, config: TopicConfig(), isWritable: false)
    }

    @Test func everyOffsetGivesItsRecordsTimestamp() throws {
        let dir = TemporaryDirectory()
        let (partition, records) = try compressedPartition(dir)
        #expect(try partition.segments().count > 1)
        let timestamps = try PartitionTimestamps(partition, scratch: ReadScratch())
        #expect(timestamps.start == 0 && timestamps.end == 500)
        let expected = Dictionary(uniqueKeysWithValues: records.map { ($0.offset, $0.timestamp) })
        #expect(try timestamps.timestamps(at: Set(0..<500)) == expected)
    }

    @Test func severalOffsetsInsideOneCompressedBatch() throws {
        let dir = TemporaryDirectory()
        let (partition, _) = try compressedPartition(dir)
        let timestamps = try PartitionTimestamps(partition, scratch: ReadScratch())
        // Offsets 251, 262 and 298 are in the batch 250..<300, none at its start.
        let inside: Set<Int64> = [251, 262, 298]
        #expect(try timestamps.timestamps(at: inside) == Dictionary(uniqueKeysWithValues: inside.map { ($0, Self.timestamp(Int($0))) }))
        // A second call answers the same (the decoded batch is not kept across calls).
        #expect(try timestamps.timestamps(at: [262]) == [262: Self.timestamp(262)])
    }

    @Test func anOffsetBeforeTheLogStartCountsAsTheLogStart() throws {
        let dir = TemporaryDirectory()
        let (written, _) = try compressedPartition(dir)
        let partition = Partition(
            topic: written.topic, index: written.index, directory: written.directory, config: written.config,
            isWritable: false, recordedLogStart: 120)
        let timestamps = try PartitionTimestamps(partition, scratch: ReadScratch())
        #expect(timestamps.start == 120)
        let logStart = Self.timestamp(120)
        #expect(try timestamps.timestamps(at: [0, 119, 120]) == [0: logStart, 119: logStart, 120: logStart])
    }

    @Test func offsetsAtOrPastTheEndHaveNoTimestamp() throws {
        let dir = TemporaryDirectory()
        let (partition, _) = try compressedPartition(dir)
        let timestamps = try PartitionTimestamps(partition, scratch: ReadScratch())
        #expect(try timestamps.timestamps(at: [499, 500, 10_000]) == [499: Self.timestamp(499)])
    }

    @Test func anEmptyPartitionHasNoTimestamps() throws {
        let dir = TemporaryDirectory()
        let timestamps = try PartitionTimestamps(try makeTopic(dir).partition(0), scratch: ReadScratch())
        #expect(timestamps.start == 0 && timestamps.end == 0)
        #expect(try timestamps.timestamps(at: [0, 1]) == [:])
    }

    /// In a LogAppendTime batch every record has the batch's maximum timestamp, whatever it stores.
    @Test func aLogAppendTimeBatchGivesItsMaximumTimestamp() throws {
        let builder = RecordBatchBuilder(codec: .none)
        let log = ByteBuffer(), noHeaders = ByteBuffer()
        for i in 0..<5 {
            let value = Array("v\(i)".utf8)
            value.withUnsafeBytes {
                builder.append(timestamp: Self.timestamp(i), key: nil, value: $0, headerCount: 0, encodedHeaders: noHeaders.bytes)
            }
        }
        var template = RecordBatchHeader(baseOffset: 0)
        template.attributes = 0x08
        template.maxTimestamp = 1_800_000_000_000
        let header = try builder.finish(baseOffset: 0, into: log, template: template)
        #expect(header.timestampType == .logAppendTime)
        let dir = TemporaryDirectory()
        let timestamps = try PartitionTimestamps(try partition(holding: log.array, in: dir), scratch: ReadScratch())
        #expect(try timestamps.timestamps(at: [0, 3]) == [0: 1_800_000_000_000, 3: 1_800_000_000_000])
    }

    /// Legacy (magic 1) messages: each gives its own timestamp.
    @Test func legacyMessagesGiveTheirTimestamps() throws {
        let dir = TemporaryDirectory()
        let partition = try partition(holding: try KafkaGoFetch.recordSet("kgo_v1-v1.hex"), in: dir)
        let records = try readAll(partition)
        #expect(records.count == 4)
        let timestamps = try PartitionTimestamps(partition, scratch: ReadScratch())
        #expect(timestamps.end == 4)
        #expect(try timestamps.timestamps(at: Set(0..<5)) == Dictionary(uniqueKeysWithValues: records.map { ($0.offset, $0.timestamp) }))
    }
}
