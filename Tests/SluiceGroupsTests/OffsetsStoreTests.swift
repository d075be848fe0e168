import Foundation
import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem
import Synchronization
import TestSupport
import Testing

@testable import SluiceGroups

func commit(_ store: OffsetsStore, _ group: String, _ offsets: [(String, Int, Int64?)], operation: CommitOperation = .commit) throws {
    try store.commit(
        group: group, changes: offsets.map { OffsetChange(TopicPartition($0.0, $0.1), offset: $0.2) },
        annotations: CommitAnnotations(operation: operation))
}

func offsetsLog(_ data: DataDirectory, group: String) -> String {
    "\(data.path)/__consumer_offsets-\(ConsumerOffsetsPartitioner.partition(forGroup: group))/00000000000000000000.log"
}

@Suite struct OffsetsStoreTests {
    @Test func commitsAreReadBackByAnyProcess() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        try store.commit(
            group: "billing",
            changes: [
                OffsetChange(TopicPartition("orders", 0), offset: 5, metadata: "m0"),
                OffsetChange(TopicPartition("orders", 1), offset: 7),
            ],
            annotations: CommitAnnotations(operation: .commit, member: "m-1"))
        try commit(store, "billing", [("orders", 0, 9)])
        let fresh = OffsetsStore(directory: try DataDirectory.open(data.path))
        let offsets = try fresh.offsets(of: "billing")
        #expect(offsets.mapValues(\.offset) == [TopicPartition("orders", 0): 9, TopicPartition("orders", 1): 7])
        #expect(offsets[TopicPartition("orders", 0)]?.samples.map(\.offset) == [5, 9])
        #expect(offsets[TopicPartition("orders", 1)]?.metadata == "")
        #expect(try fresh.offsets(of: "other").isEmpty)
        // The offsets topic is Kafka's, hidden from topic listings.
        #expect(try data.topicNames() == [])
        #expect(try data.topicNames(includeInternal: true) == ["__consumer_offsets"])
        #expect(try data.topic("__consumer_offsets").partitionCount == 50)
        #expect(try FileSystem.exists(offsetsLog(data, group: "billing")))
    }

    @Test func aTombstoneDeletesAndHistoryKeepsEverything() throws {
        let dir = TemporaryDirectory()
        let (_, store) = try makeStore(dir)
        try commit(store, "g", [("t", 0, 3), ("t", 1, 4)])
        try commit(store, "g", [("t", 0, nil)], operation: .delete)
        #expect(try store.offsets(of: "g").mapValues(\.offset) == [TopicPartition("t", 1): 4])
        try commit(store, "g", [("t", 1, nil)], operation: .delete)
        #expect(try store.allOffsets()["g"] == nil)
        let history = try store.history(of: "g")
        #expect(history.events.map { $0.value?.offset } == [3, 4, nil, nil])
        #expect(history.events.map(\.annotations.operation) == [.commit, .commit, .delete, .delete])
        #expect(Set(history.events.prefix(2).map(\.annotations.operationID)).count == 1, "one commit is one operation")
        #expect(history.keptSince == nil)
    }

    @Test func aTornCommitLeavesThePreviousStateWhole() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        try commit(store, "g", [("t", 0, 10), ("t", 1, 11), ("t", 2, 12)])
        let log = offsetsLog(data, group: "g")
        let before = try #require(try FileSystem.fileSize(log))
        try commit(store, "g", [("t", 0, 20), ("t", 1, 21), ("t", 2, 22)])
        let whole = try Data(contentsOf: URL(fileURLWithPath: log))
        for cut in stride(from: Int(before) + 1, to: whole.count, by: 9) {
            try whole.prefix(cut).write(to: URL(fileURLWithPath: log))
            let offsets = try OffsetsStore(directory: try DataDirectory.open(data.path)).offsets(of: "g")
            #expect(
                offsets.mapValues(\.offset) == [TopicPartition("t", 0): 10, TopicPartition("t", 1): 11, TopicPartition("t", 2): 12],
                "cut at byte \(cut)")
        }
        // The next committer recovers the torn tail (reporting it) and commits.
        let (_, warnings) = try capturingWarnings {
            try commit(OffsetsStore(directory: try DataDirectory.open(data.path)), "g", [("t", 1, 31)])
        }
        #expect(warnings.contains { $0.contains("torn write") })
        #expect(
            try OffsetsStore(directory: try DataDirectory.open(data.path)).offsets(of: "g").mapValues(\.offset)
                == [TopicPartition("t", 0): 10, TopicPartition("t", 1): 31, TopicPartition("t", 2): 12])
    }

    @Test func concurrentCommittersLoseNoCommit() throws {
        let dir = TemporaryDirectory()
        let (data, _) = try makeStore(dir)
        let writers = 8, commits = 20
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            do {
                let store = OffsetsStore(directory: try DataDirectory.open(data.path))
                for n in 1...commits { try commit(store, "shared", [("t", w, Int64(n))]) }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        let store = OffsetsStore(directory: try DataDirectory.open(data.path))
        #expect(try store.history(of: "shared").events.count == writers * commits)
        #expect(
            try store.offsets(of: "shared").mapValues(\.offset)
                == Dictionary(uniqueKeysWithValues: (0..<writers).map { (TopicPartition("t", $0), Int64(commits)) }))
    }

    /// Snapshots every 40 records, to keep the tests short.
    let interval: Int64 = 40

    @Test func readsStartFromTheSnapshotNotTheWholeHistory() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        store.snapshotInterval = interval
        for n in 1...interval + 150 { try commit(store, "g", [("t", Int(n % 3), n)]) }
        let index = ConsumerOffsetsPartitioner.partition(forGroup: "g")
        let snapshot = try #require(try FileSystem.readIfExists(store.snapshotPath(index)))
        #expect(try OffsetsSnapshot.decode(snapshot).covers >= interval)
        let expected = try store.offsets(of: "g").mapValues(\.offset)
        // Damage the oldest history: a full read now fails, a snapshot read does not.
        let log = offsetsLog(data, group: "g")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        bytes[100] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: log))
        let fresh = OffsetsStore(directory: try DataDirectory.open(data.path))
        #expect(try fresh.offsets(of: "g").mapValues(\.offset) == expected)
        #expect(throws: SluiceError.self) { try fresh.history(of: "g") }
    }

    @Test func aDamagedSnapshotIsIgnoredAndTheLogRead() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        store.snapshotInterval = interval
        for n in 1...interval + 10 { try commit(store, "g", [("t", 0, n)]) }
        let path = store.snapshotPath(ConsumerOffsetsPartitioner.partition(forGroup: "g"))
        var bytes = try #require(try FileSystem.readIfExists(path))
        bytes[bytes.count / 2] ^= 1
        try FileSystem.writeAtomically(path, bytes)
        let (offsets, warnings) = try capturingWarnings { try OffsetsStore(directory: try DataDirectory.open(data.path)).offsets(of: "g") }
        #expect(offsets[TopicPartition("t", 0)]?.offset == interval + 10)
        #expect(warnings.count == 1 && warnings[0].contains("damaged snapshot"))
    }

    @Test func aSnapshotOfALogThatWasCutAndRewrittenIsDiscarded() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        store.snapshotInterval = interval
        for n in 1...interval { try commit(store, "g", [("t", 0, n)]) }
        // As if the machine crashed and lost the log's tail: keep the first commit only, then commit other offsets.
        let log = offsetsLog(data, group: "g")
        let first = try Data(contentsOf: URL(fileURLWithPath: log)).prefix(while: { _ in true })
        let header = first.withUnsafeBytes { RecordBatchHeader($0.baseAddress!) }
        try first.prefix(header.totalSize).write(to: URL(fileURLWithPath: log))
        let index = log.replacingOccurrences(of: ".log", with: ".index")
        try Data().write(to: URL(fileURLWithPath: index))
        let after = OffsetsStore(directory: try DataDirectory.open(data.path))
        after.snapshotInterval = interval
        _ = try capturingWarnings { () throws -> Void in
            for n in 0..<interval + 5 { try commit(after, "g", [("t", 1, 1000 + n)]) }
        }
        let offsets = try OffsetsStore(directory: try DataDirectory.open(data.path)).offsets(of: "g").mapValues(\.offset)
        #expect(offsets == [TopicPartition("t", 0): 1, TopicPartition("t", 1): 1000 + interval + 4])
    }

    @Test func historyRetentionRemovesOldSegmentsButKeepsEveryOffset() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        let t0: Int64 = 1_700_000_000_000
        store.clock = { t0 }
        // Groups in the same offsets partition as "busy".
        let index = ConsumerOffsetsPartitioner.partition(forGroup: "busy")
        let neighbours = (0..<5000).map { "idle-\($0)" }.filter { ConsumerOffsetsPartitioner.partition(forGroup: $0) == index }.prefix(2)
        let (idle, gone) = (neighbours.first!, neighbours.last!)
        try commit(store, idle, [("t", 5, 9)])
        try commit(store, gone, [("t", 1, 1)])
        try commit(store, gone, [("t", 1, nil)], operation: .delete)
        try data.alterConfig(OffsetsStore.topicName, assignments: ["retention.ms=3600000", "segment.bytes=1024"])
        let later = OffsetsStore(directory: try DataDirectory.open(data.path))
        later.clock = { t0 }
        for n in 1...30 { try commit(later, "busy", [("t", 0, Int64(n))]) }
        let partition = try data.topic(OffsetsStore.topicName).partition(index)
        #expect(try partition.segments().count > 3)
        later.clock = { t0 + 7_200_000 }
        try commit(later, "busy", [("t", 0, 31)])
        #expect(try partition.segments().count <= 2)
        #expect(try partition.logStartOffset() > 0)
        for reader in [later, OffsetsStore(directory: try DataDirectory.open(data.path))] {
            #expect(try reader.offsets(of: "busy")[TopicPartition("t", 0)]?.offset == 31)
            #expect(try reader.offsets(of: idle)[TopicPartition("t", 5)]?.offset == 9)
            #expect(try reader.offsets(of: idle)[TopicPartition("t", 5)]?.commitTimestamp == t0)
            #expect(try reader.offsets(of: gone).isEmpty)
        }
        try FileSystem.removeFile(later.snapshotPath(index))
        let rebuilt = OffsetsStore(directory: try DataDirectory.open(data.path))
        #expect(try rebuilt.offsets(of: idle)[TopicPartition("t", 5)]?.offset == 9)
        let history = try rebuilt.history(of: idle)
        #expect(history.keptSince != nil)
        #expect(history.events.map(\.annotations.operation) == [.retain])
    }
}

/// Logs written by a Kafka broker rather than by sluice.
@Suite struct BrokerOffsetsLogTests {
    /// Appends one batch of (key, value) records to the group's offsets partition.
    func append(_ data: DataDirectory, group: String, _ records: [([UInt8], [UInt8]?)], attributes: Int16 = 0, producerId: Int64 = -1)
        throws
    {
        let partition = try data.topic(OffsetsStore.topicName).partition(ConsumerOffsetsPartitioner.partition(forGroup: group))
        let builder = RecordBatchBuilder()
        for (key, value) in records {
            key.withUnsafeBytes { k in
                if let value {
                    value.withUnsafeBytes { builder.append(timestamp: 1_700_000_000_000, key: k, value: $0) }
                } else {
                    builder.append(timestamp: 1_700_000_000_000, key: k, value: nil)
                }
            }
        }
        let out = ByteBuffer()
        try builder.finish(
            baseOffset: 0, into: out,
            template: RecordBatchHeader(attributes: attributes, producerId: producerId, producerEpoch: 0, baseSequence: 0))
        try PartitionAppender(partition: partition).append(out)
    }

    func key(_ group: String, _ topic: String, _ p: Int32, version: Int16 = 1) -> [UInt8] {
        let out = ByteBuffer()
        OffsetCommitKey(group: group, topic: topic, partition: p).encode(version: version, to: out)
        return out.array
    }

    func value(_ offset: Int64, version: Int16 = 3) -> [UInt8] {
        let out = ByteBuffer()
        OffsetCommitValue(offset: offset, metadata: "m", commitTimestamp: 1_700_000_000_000, expireTimestamp: version == 1 ? 1 : nil)
            .encode(version: version, to: out)
        return out.array
    }

    @Test func everyRecordTypeAndTransactionsAreHonoured() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        let groupMetadata: [UInt8] = [0, 2, 0, 1, 0x67]
        try append(
            data, group: "g",
            [
                (groupMetadata, [0, 3, 1, 2, 3]), (key("g", "t", 0, version: 0), value(5, version: 1)),
                ([0, 5, 9, 9], [0, 0]), (key("g", "t", 1), value(6, version: 4)),
            ])
        // A transaction's offsets count once its COMMIT marker follows, and never after ABORT.
        try append(data, group: "g", [(key("g", "t", 0), value(50))], attributes: 0x10, producerId: 7)
        try append(data, group: "g", [(key("g", "t", 1), value(60))], attributes: 0x10, producerId: 8)
        #expect(try store.offsets(of: "g").mapValues(\.offset) == [TopicPartition("t", 0): 5, TopicPartition("t", 1): 6])
        try append(data, group: "g", [([0, 0, 0, 1], [0, 0, 0, 0, 0, 0])], attributes: 0x30, producerId: 7)
        try append(data, group: "g", [([0, 0, 0, 0], [0, 0, 0, 0, 0, 0])], attributes: 0x30, producerId: 8)
        try append(data, group: "g", [(key("g", "t", 2), nil)])
        let fresh = OffsetsStore(directory: try DataDirectory.open(data.path))
        #expect(try fresh.offsets(of: "g").mapValues(\.offset) == [TopicPartition("t", 0): 50, TopicPartition("t", 1): 6])
        #expect(try store.offsets(of: "g").mapValues(\.offset) == [TopicPartition("t", 0): 50, TopicPartition("t", 1): 6])
        #expect(try fresh.history(of: "g").events.map(\.annotations.operation) == [.commit, .commit, .commit, .delete])
    }

    @Test func aBrokersDirectoryIsReadNeverWritten() throws {
        let dir = TemporaryDirectory()
        let (data, store) = try makeStore(dir)
        try commit(store, "DEVSmileCDR", [("TestTopicPatient", 0, 3)])
        let broker = dir.path + "/broker"
        try FileManager.default.createDirectory(atPath: broker, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: data.path + "/__consumer_offsets-6", toPath: broker + "/__consumer_offsets-6")
        try "node.id=1\n".write(toFile: broker + "/meta.properties", atomically: true, encoding: .utf8)
        let opened = try DataDirectory.open(broker)
        #expect(opened.kind == .kafkaBroker)
        let reader = OffsetsStore(directory: opened)
        #expect(try reader.offsets(of: "DEVSmileCDR")[TopicPartition("TestTopicPatient", 0)]?.offset == 3)
        #expect(try reader.allOffsets().keys.sorted() == ["DEVSmileCDR"])
        #expect(throws: SluiceError.self) { try commit(reader, "DEVSmileCDR", [("TestTopicPatient", 0, 4)]) }
        #expect(try !FileSystem.exists(broker + "/.sluice"))
    }
}
