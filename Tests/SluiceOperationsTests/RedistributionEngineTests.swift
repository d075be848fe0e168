import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import Synchronization
import TestSupport
import Testing

@testable import SluiceOperations

/// The redistribution engine in process: placement, the replay that makes
/// a chunk exactly-once after a crash, translation, names, the record, the writer thread.
@Suite struct RedistributionEngineTests {
    /// A data directory with topic "src" of `partitions` partitions, each
    /// holding `batches` batches of `perBatch` keyed records.
    func source(_ dir: TemporaryDirectory, partitions: Int = 2, batches: Int = 40, perBatch: Int = 25) throws -> (DataDirectory, Topic) {
        let data = try DataDirectory.open(dir.path + "/data")
        let topic = try data.createTopic("src", partitions: partitions)
        for p in 0..<partitions {
            let builder = RecordBatchBuilder()
            let out = ByteBuffer()
            for b in 0..<batches {
                for r in 0..<perBatch {
                    let i = b * perBatch + r
                    Array("key-\(i % 17)".utf8).withUnsafeBytes { key in
                        Array("value-\(p)-\(i)".utf8).withUnsafeBytes { value in
                            builder.append(timestamp: 1_700_000_000_000 + Int64(i), key: key, value: value)
                        }
                    }
                }
                try builder.finish(baseOffset: 0, into: out)
            }
            let appender = try PartitionAppender(partition: try topic.partition(p))
            try appender.append(out)
            try appender.sync()
        }
        return (data, topic)
    }

    /// A fresh record copying all of `topic` into a new topic "dst".
    func record(_ data: DataDirectory, _ topic: Topic, strategy: RedistributionStrategy, provenance: Bool, factor: Int = 3) throws -> (
        RedistributionRecord, Topic
    ) {
        let partitions = topic.partitionCount * factor
        let target = try data.createTopic("dst", partitions: partitions)
        let sources = try topic.partitions().map { p in
            let end = try p.endOffset()
            return RedistributionRecord.Source(
                partition: p.index, committed: nil, start: 0, startReason: .logStart, stop: end, next: 0,
                chunkEnd: end / 2, splitAbove: 10, copiedRecords: 0, copiedBytes: 0)
        }
        let record = RedistributionRecord(
            name: "dst", kind: .redistribution, sourceTopic: "src", sourceTopicID: topic.metadata.id, targetTopic: "dst",
            targetTopicID: target.metadata.id, targetPartitions: partitions, factor: factor, strategy: strategy, provenance: provenance,
            follow: false, group: "g", drainGroup: "dst.drain", migratedGroups: [], sources: sources,
            targets: (0..<partitions).map { RedistributionRecord.Target(partition: $0, end: 0, records: 0) },
            unkeyedNext: 0, phase: .copying, createdAt: 0, updatedAt: 0, handedOffAt: nil, finishedAt: nil, outcome: nil)
        return (record, target)
    }

    func copy(_ topic: Topic, _ target: Topic, _ record: inout RedistributionRecord) throws {
        let copier = try BacklogCopier(source: topic, target: target, record: record)
        defer { copier.close() }
        try copier.copyChunk(&record)
        try copier.drain()
    }

    @Test(arguments: [(RedistributionStrategy.roundRobin, false), (.roundRobin, true), (.key, true), (.sourcePartition, false)])
    func aReplayedChunkMatchesWhatIsOnDiskAndWritesNothing(strategy: RedistributionStrategy, provenance: Bool) throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try source(dir)
        var (checkpoint, target) = try record(data, topic, strategy: strategy, provenance: provenance)
        // The first run copies the chunk and "dies" before its commit: the checkpoint is unchanged.
        var crashed = checkpoint
        try copy(topic, target, &crashed)
        let onDisk = try target.partitions().map { try $0.endOffset() }
        #expect(onDisk.reduce(0, +) >= 1000, "the chunk holds half of 2 × 1000 records")
        // The resumed run replays the same chunk from the checkpoint.
        try copy(topic, target, &checkpoint)
        #expect(try target.partitions().map { try $0.endOffset() } == onDisk, "a replay writes nothing twice")
        #expect(checkpoint.targets.map(\.end) == onDisk && checkpoint.targets == crashed.targets)
        #expect(checkpoint.copiedRecords == 1000 && checkpoint.sources.map(\.next) == [500, 500])
        // The next chunk continues after it.
        for i in checkpoint.sources.indices { checkpoint.sources[i].chunkEnd = checkpoint.sources[i].stop! }
        try copy(topic, target, &checkpoint)
        #expect(checkpoint.copiedRecords == 2000 && checkpoint.targets.reduce(0) { $0 + $1.records } == 2000)
        #expect(checkpoint.targets.map(\.end) == (try target.partitions().map { try $0.endOffset() }))
    }

    @Test func aForeignBatchPastTheCheckpointIsRefused() throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try source(dir)
        let (checkpoint, target) = try record(data, topic, strategy: .roundRobin, provenance: false)
        var crashed = checkpoint
        try copy(topic, target, &crashed)
        let lane = try target.partition(crashed.targets.firstIndex { $0.records > 0 }!)
        let builder = RecordBatchBuilder()
        let out = ByteBuffer()
        builder.append(timestamp: 1, key: nil, value: UnsafeRawBufferPointer(start: nil, count: 0))
        try builder.finish(baseOffset: 0, into: out)
        try PartitionAppender(partition: lane).append(out)
        var resumed = checkpoint
        #expect(throws: SluiceError.self) { try copy(topic, target, &resumed) }
    }

    @Test func roundRobinSplitsLargeBatchesToStayEven() throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try source(dir, partitions: 1, batches: 100, perBatch: 1000)
        var (record, target) = try record(data, topic, strategy: .roundRobin, provenance: false, factor: 30)
        record.sources[0].chunkEnd = 100_000
        record.sources[0].splitAbove = ChunkedCopy.splitAbove(blockRecords: 100_000, blockSize: 30)
        try copy(topic, target, &record)
        let counts = record.targets.map(\.records)
        #expect(counts.reduce(0, +) == 100_000)
        #expect(Double(counts.max()! - counts.min()!) <= 100_000 / 30 * 0.05, "\(counts)")
    }

    @Test func theEmptiestPartitionWinsAndTiesGoLow() {
        var spread = Spread(records: [5, 3, 3, 9, 0, 0], blockSize: 3)
        #expect(spread.emptiest(block: 0) == 1 && spread.emptiest(block: 1) == 4)
        spread.addToEmptiest(4, block: 0)
        #expect(spread.emptiest(block: 0) == 2)
        spread.addToEmptiest(1, block: 0)
        #expect(spread.emptiest(block: 0) == 2, "3+1 = 4 < 5")
        spread.addToEmptiest(2, block: 0)
        #expect(spread.records == [5, 7, 6, 9, 0, 0] && spread.emptiest(block: 0) == 0)
        // The same counts give the same choices, however the heap was built.
        let rebuilt = Spread(records: spread.records, blockSize: 3)
        #expect(rebuilt.emptiest(block: 0) == spread.emptiest(block: 0))
    }

    @Test func translationFindsTheFirstUnconsumedRecordPerTarget() {
        let record = RedistributionRecord(
            name: "n", kind: .migration, sourceTopic: "s", sourceTopicID: "", targetTopic: "n", targetTopicID: nil, targetPartitions: 2,
            factor: nil, strategy: .key, provenance: false, follow: false, group: nil, drainGroup: nil,
            migratedGroups: [.init(group: "g", committed: [0: 100], translated: [:])],
            sources: [0, 1].map {
                .init(
                    partition: $0, committed: nil, start: 0, startReason: .logStart, stop: 1000, next: 0, chunkEnd: 0,
                    splitAbove: 64, copiedRecords: 0, copiedBytes: 0)
            },
            targets: [], unkeyedNext: 0, phase: .copying, createdAt: 0, updatedAt: 0, handedOffAt: nil, finishedAt: nil, outcome: nil)
        var translation = OffsetTranslation(record)
        translation.observe(0, firstOffset: 50, lastOffset: 99, target: 0, at: 0)
        translation.observe(0, firstOffset: 90, lastOffset: 120, target: 0, at: 50)
        translation.observe(0, firstOffset: 130, lastOffset: 130, target: 0, at: 81)
        translation.observe(1, firstOffset: 0, lastOffset: 0, target: 1, at: 7)
        var stored = record
        translation.store(into: &stored)
        #expect(stored.migratedGroups[0].translated == [0: 60, 1: 7], "partition 1 had no commit: its first record is unconsumed")
    }

    @Test func provenanceHeaderDecodesAsTopicPartitionOffset() throws {
        let headers = ByteBuffer()
        ProvenanceHeader(topic: "orders", partition: 7).append(offset: 1_234_567_890_123, to: headers)
        let builder = RecordBatchBuilder()
        let out = ByteBuffer()
        builder.append(timestamp: 5, key: nil, value: nil, headerCount: 1, encodedHeaders: headers.bytes)
        let header = try builder.finish(baseOffset: 0, into: out)
        var records = try BatchDecoder().records(of: out.bytes, header: header)
        let decoded = try #require(try records.next()).headers.map {
            (String(decoding: $0.key, as: UTF8.self), String(decoding: $0.value!, as: UTF8.self))
        }
        #expect(decoded.count == 1 && decoded[0] == ("sluice.source", "orders/7/1234567890123"))
    }

    @Test func defaultNamesAreValidTopicNames() throws {
        #expect(RedistributionNames.temporaryTopic(topic: "orders", group: "billing", factor: 10) == "orders.billing.x10")
        #expect(RedistributionNames.temporaryTopic(topic: "orders", group: "team/billing v2", factor: 3) == "orders.team_billing_v2.x3")
        let long = RedistributionNames.temporaryTopic(
            topic: String(repeating: "t", count: 200), group: String(repeating: "g", count: 200), factor: 10)
        #expect(long.utf8.count == TopicName.maxLength)
        try TopicName.validate(long)
        #expect(RedistributionNames.drainGroup(temporaryTopic: "orders.billing.x10") == "orders.billing.x10.drain")
    }

    @Test func theRecordRoundTripsAndDetectsDamage() throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try source(dir)
        var (record, _) = try record(data, topic, strategy: .sourcePartition, provenance: true)
        record.migratedGroups = [.init(group: "g", committed: [0: 3], translated: [1: 9])]
        record.outcome = "drained"
        var bytes = record.encode()
        #expect(try RedistributionRecord.decode(bytes, what: "r") == record)
        bytes[bytes.count - 20] ^= 0x04
        #expect(throws: SluiceError.self) { try RedistributionRecord.decode(bytes, what: "r") }
    }

    @Test func theWriterRunsInOrderAndReportsTheFirstFailure() throws {
        let writer = OrderedWriter(capacity: 10)
        let seen = Mutex<[Int]>([])
        for i in 0..<50 { try writer.submit(weight: 3) { seen.withLock { $0.append(i) } } }
        try writer.drain()
        #expect(seen.withLock { $0 } == Array(0..<50))
        try writer.submit { throw SluiceError.failure(.io, "disk on fire") }
        try? writer.submit { seen.withLock { $0.append(99) } }
        #expect(throws: SluiceError.self) { try writer.drain() }
        writer.close()
        #expect(!seen.withLock { $0 }.contains(99), "work after a failure is dropped")
    }
}
