import KafkaFormat
import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem
import TestSupport
import Testing

@testable import SluiceOperations

/// Kafka's retention rules, the plans of `retention` and `delete-records`,
/// and what consumers do when records they have not read are deleted.
@Suite struct RetentionTests {
    let day: Int64 = 86_400_000
    let now: Int64 = 1_700_000_000_000

    /// Segments of `bytes` each whose newest records are `ages` days old; the last is the active one.
    func facts(_ ages: [Int64], bytes: Int64 = 100, asked: Counter = Counter()) -> [RetentionPolicy.SegmentFacts] {
        ages.enumerated().map { i, age in
            RetentionPolicy.SegmentFacts(baseOffset: Int64(i) * 100, logBytes: bytes) {
                asked.count += 1
                return now - age * day
            }
        }
    }

    final class Counter: @unchecked Sendable { var count = 0 }

    @Test func sizeRuleKeepsThePartitionWithinTheLimitOldestFirst() throws {
        let segments = facts([9, 9, 9, 9])
        #expect(try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: 250, retentionMs: -1, now: now) == [.retentionBytes])
        #expect(
            try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: 200, retentionMs: -1, now: now) == [
                .retentionBytes, .retentionBytes,
            ])
        // Never the active segment, even with a limit of 0.
        #expect(try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: 0, retentionMs: -1, now: now).count == 3)
        #expect(try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: 400, retentionMs: -1, now: now).isEmpty)
    }

    @Test func timeRuleGoesByEachSegmentsNewestRecordAndStopsAtTheFirstItSpares() throws {
        let asked = Counter()
        let segments = facts([10, 9, 1, 20, 30], asked: asked)
        #expect(
            try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: -1, retentionMs: 7 * day, now: now) == [
                .retentionMs, .retentionMs,
            ])
        #expect(asked.count == 3, "timestamps are read only until the first segment kept")
        #expect(
            try RetentionPolicy.deletions(facts([30, 30]), logStart: 0, retentionBytes: -1, retentionMs: 7 * day, now: now) == [
                .retentionMs
            ])
        #expect(try RetentionPolicy.deletions(segments, logStart: 0, retentionBytes: -1, retentionMs: -1, now: now).isEmpty)
    }

    @Test func rulesApplyInKafkasOrder() throws {
        // Segments wholly below the log start first, then size, then time.
        // 600 bytes: the segment below the start goes, then one more to get within 350, then the 30-day-old ones.
        let segments = facts([1, 1, 30, 30, 1, 1])
        let rules = try RetentionPolicy.deletions(segments, logStart: 150, retentionBytes: 350, retentionMs: 7 * day, now: now)
        #expect(rules == [.logStart, .retentionBytes, .retentionMs, .retentionMs])
        #expect(
            try RetentionPolicy.deletions(facts([30, 30, 1, 30]), logStart: 0, retentionBytes: 300, retentionMs: 7 * day, now: now)
                == [.retentionBytes, .retentionMs])
        #expect(
            try RetentionPolicy.deletions(facts([30, 30, 1, 30]), logStart: 0, retentionBytes: 350, retentionMs: 7 * day, now: now)
                == [.retentionMs, .retentionMs])
    }

    /// A topic of one partition, 10 segments of 100 records: segment k's records are (10 - k) days old.
    func agedTopic(_ dir: TemporaryDirectory, config: [String] = []) throws -> (DataDirectory, Topic) {
        let data = try DataDirectory.open(dir.path + "/data")
        var topicConfig = TopicConfig()
        try topicConfig.apply(assignments: ["segment.ms=1000"] + config)
        let topic = try data.createTopic("t", partitions: 1, config: topicConfig)
        let appender = try PartitionAppender(partition: try topic.partition(0))
        let builder = RecordBatchBuilder()
        let out = ByteBuffer()
        for i in 0..<1000 {
            let value = Array("r\(i)".utf8)
            value.withUnsafeBytes { builder.append(timestamp: now - Int64(10 - i / 100) * day, key: nil, value: $0) }
            if i % 10 == 9 { try builder.finish(baseOffset: 0, into: out) }
        }
        try appender.append(out)
        try appender.sync()
        return (data, try data.topic("t"))
    }

    @Test func retentionPlansNamesGroupsAndKeepsWhatTheyHaveNotConsumedWhenAsked() throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try agedTopic(dir, config: ["retention.ms=5d"])
        let groups = InMemoryGroupStore()
        groups.offsets["t"] = ["slow": [0: 150], "fast": [0: 900]]
        let plan = try LogStartPlan.retention(data, topics: [], now: now, keepUnconsumed: false, groups: groups)
        // Segments 0..4 are 10..6 days old: older than 5 days.
        #expect(plan.moves.map(\.newLogStart) == [500])
        #expect(plan.moves[0].segments.map(\.baseOffset) == [0, 100, 200, 300, 400])
        #expect(plan.moves[0].rules == [.retentionMs])
        #expect(plan.losses.map(\.group) == ["slow"])
        #expect(plan.losses.first?.records == 350)

        let kept = try LogStartPlan.retention(data, topics: ["t"], now: now, keepUnconsumed: true, groups: groups)
        #expect(kept.moves.map(\.newLogStart) == [100])
        #expect(kept.moves[0].keptSegments == 4)
        #expect(kept.losses.isEmpty)

        let changes = try kept.execute(in: data) { false }
        #expect(changes.map(\.newStart) == [100])
        #expect(try data.topic("t").partition(0).offsetRange() == (start: 100, end: 1000))
        // Planning again after executing finds nothing more to keep back or delete.
        let again = try LogStartPlan.retention(data, topics: ["t"], now: now, keepUnconsumed: true, groups: groups)
        #expect(!again.moves[0].changes)
        _ = topic
    }

    @Test func anInterruptedRunStopsBetweenPartitionsAndChangesNothingMore() throws {
        let dir = TemporaryDirectory()
        let (data, _) = try agedTopic(dir, config: ["retention.bytes=1"])
        let plan = try LogStartPlan.retention(data, topics: ["t"], now: now, keepUnconsumed: false, groups: InMemoryGroupStore())
        #expect(plan.moves[0].segments.count == 9)
        let error = #expect(throws: SluiceError.self) { try plan.execute(in: data) { true } }
        #expect(error?.reason == .interrupted)
        #expect(error?.remedy?.contains("run the same command again") == true)
        #expect(try data.topic("t").partition(0).segments().count == 10)
    }

    @Test func deleteRecordsTakesAnOffsetOrATime() throws {
        let dir = TemporaryDirectory()
        let (data, topic) = try agedTopic(dir)
        #expect(try LogStartPlan.Boundary.parse("250", now: now) == .offset(250))
        #expect(try LogStartPlan.Boundary.parse("@1700000000", now: now) == .time(1_700_000_000_000))
        #expect(try LogStartPlan.Boundary.parse("2023-11-14T22:13:20Z", now: now) == .time(1_700_000_000_000))
        #expect(throws: SluiceError.self) { try LogStartPlan.Boundary.parse("yesterday", now: now) }
        #expect(throws: SluiceError.self) { try LogStartPlan.Boundary.parse("99999999999999999999", now: now) }

        let byOffset = try LogStartPlan.deleteRecords(topic, partitions: [], before: .offset(250), groups: InMemoryGroupStore())
        #expect(byOffset.moves.map(\.newLogStart) == [250])
        #expect(byOffset.moves[0].segments.map(\.baseOffset) == [0, 100])
        // Records older than 7.5 days: those of segments 0..2 (10, 9, 8 days old).
        let byTime = try LogStartPlan.deleteRecords(
            topic, partitions: [0], before: .time(now - 7 * day - day / 2), groups: InMemoryGroupStore())
        #expect(byTime.moves.map(\.newLogStart) == [300])
        #expect(throws: SluiceError.self) {
            try LogStartPlan.deleteRecords(topic, partitions: [], before: .offset(1001), groups: InMemoryGroupStore())
        }
        #expect(throws: SluiceError.self) {
            try LogStartPlan.deleteRecords(topic, partitions: [3], before: .offset(1), groups: InMemoryGroupStore())
        }
        #expect(throws: SluiceError.self) {
            try LogStartPlan.retention(
                data, topics: [OffsetsStore.topicName], now: now, keepUnconsumed: false, groups: InMemoryGroupStore())
        }
    }
}

/// What consumers deliver: never transaction markers; with read_committed
/// only committed transactions, stopping at an open one; and after records
/// they had not read are deleted, the new log start.
@Suite struct ConsumerIsolationTests {
    /// Appends one batch: `values` as records; a transactional batch of
    /// `producerId` when given; `marker` makes it a control batch (COMMIT or ABORT).
    func append(
        _ partition: Partition, _ values: [String], producerId: Int64 = -1, transactional: Bool = false,
        marker: ControlRecordType? = nil
    ) throws {
        let builder = RecordBatchBuilder()
        var attributes: Int16 = transactional ? 0x10 : 0
        if let marker {
            attributes |= 0x30
            let key: [UInt8] = [0, 0, 0, UInt8(marker.rawValue)]
            let value: [UInt8] = [0, 0, 0, 0, 0, 0]
            key.withUnsafeBytes { k in value.withUnsafeBytes { builder.append(timestamp: 1_700_000_000_000, key: k, value: $0) } }
        }
        for value in values { Array(value.utf8).withUnsafeBytes { builder.append(timestamp: 1_700_000_000_000, key: nil, value: $0) } }
        let out = ByteBuffer()
        try builder.finish(
            baseOffset: 0, into: out,
            template: RecordBatchHeader(attributes: attributes, producerId: producerId, producerEpoch: 0, baseSequence: 0))
        try PartitionAppender(partition: partition).append(out)
    }

    /// Consumes partition 0 of `topic`; returns the values and the last delivered position.
    func consume(
        _ topic: Topic, _ isolation: Isolation, configure: (TopicConsumer) -> Void = { _ in },
        options: TopicConsumer.Options = .init()
    ) throws -> (values: [String], delivered: Int64?) {
        let dir = TemporaryDirectory()
        let file = try File.create(dir.file("out"))
        var options = options
        options.isolation = isolation
        let consumer = TopicConsumer(
            topic: topic, options: options, formatter: RecordFormatter(.valueLines), output: BufferedOutput(file: file))
        var delivered: Int64?
        consumer.onDelivered = { moved in delivered = moved.last?.next ?? delivered }
        configure(consumer)
        try consumer.assign(try topic.partition(0), from: 0)
        _ = try consumer.run()
        let text = String(decoding: try FileSystem.readIfExists(dir.file("out")) ?? [], as: UTF8.self)
        return (text.split(separator: "\n").map(String.init), delivered)
    }

    @Test func markersAreNeverDeliveredAndReadCommittedHidesAbortedAndOpenTransactions() throws {
        let dir = TemporaryDirectory()
        let topic = try DataDirectory.open(dir.path + "/data").createTopic("t", partitions: 1)
        let p = try topic.partition(0)
        try append(p, ["a0", "a1"])
        try append(p, ["t7-0"], producerId: 7, transactional: true)
        try append(p, ["t8-0"], producerId: 8, transactional: true)
        try append(p, [], producerId: 7, transactional: true, marker: .commit)
        try append(p, ["t8-1"], producerId: 8, transactional: true)
        try append(p, [], producerId: 8, transactional: true, marker: .abort)
        try append(p, ["t9-0"], producerId: 9, transactional: true)
        try append(p, ["z0"])

        #expect(try consume(topic, .readUncommitted).values == ["a0", "a1", "t7-0", "t8-0", "t8-1", "t9-0", "z0"])
        let (committed, warnings) = try capturingWarnings { try consume(topic, .readCommitted) }
        // Producer 9's transaction has no marker yet: nothing from its first batch (offset 7) on, as Kafka's last stable offset.
        #expect(committed.values == ["a0", "a1", "t7-0"])
        #expect(committed.delivered == 7)
        #expect(warnings.count == 1 && warnings[0].contains("producer 9"))

        try append(p, [], producerId: 9, transactional: true, marker: .commit)
        #expect(try consume(topic, .readCommitted).values == ["a0", "a1", "t7-0", "t9-0", "z0"])
    }

    @Test func aConsumerWhoseRecordsAreDeletedGoesOnAtTheNewStart() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(dir.path + "/data")
        var config = TopicConfig()
        try config.set("segment.bytes", "1024")
        let topic = try data.createTopic("t", partitions: 1, config: config)
        let partition = try topic.partition(0)
        for batch in 0..<20 { try append(partition, (0..<10).map { "v\(batch * 10 + $0)-" + String(repeating: "x", count: 60) }) }
        #expect(try partition.segments().count >= 10)
        var options = TopicConsumer.Options()
        options.recordsPerTurn = 10
        options.resetAfterDeletion = .earliest
        var deleted = false
        let ((values, _), warnings) = try capturingWarnings {
            try consume(
                topic, .readUncommitted,
                configure: { consumer in
                    consumer.maintenance = {
                        // After the first ten records, retention deletes everything below offset 150.
                        if !deleted { deleted = true; try data.advanceLogStart(of: partition, to: 150) }
                        return false
                    }
                }, options: options)
        }
        let offsets = values.map { Int($0.dropFirst().prefix { $0 != "-" })! }
        // The segment being read is read to its end; the deleted ones are skipped, with a warning.
        #expect(offsets.first == 0)
        #expect(offsets.last == 199)
        #expect(offsets.contains(150) && !offsets.contains(140))
        #expect(offsets == offsets.sorted())
        #expect(warnings.contains { $0.contains("continuing at offset 150") })
    }
}
