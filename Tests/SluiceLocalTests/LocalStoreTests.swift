import KafkaFormat
import SluiceCore
import SluiceGroups
import SluiceLocal
import SluiceStorage
import SluiceStore
import TestSupport
import Testing

/// Every method of the seam, answered by a local data directory.
@Suite struct LocalStoreTests {
    /// A data directory with topic "orders" (2 partitions): partition 0 holds
    /// offsets 0..<10 with timestamps 1000 + 10 × offset, partition 1 is empty.
    private func makeStore(_ dir: TemporaryDirectory) throws -> LocalStore {
        let data = try DataDirectory.open(dir.path + "/data")
        try data.initializeIfNeeded()
        let topic = try data.createTopic("orders", partitions: 2)
        let builder = RecordBatchBuilder()
        let out = ByteBuffer()
        for i in 0..<10 {
            let value = Array("v\(i)".utf8)
            value.withUnsafeBytes { v in
                builder.append(
                    timestamp: 1000 + 10 * Int64(i), key: nil, value: v, headerCount: 0,
                    encodedHeaders: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
        try builder.finish(baseOffset: 0, into: out)
        _ = try PartitionAppender(partition: try topic.partition(0)).append(out)
        return LocalStore(data)
    }

    @Test func topicsAndOffsetQueries() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        let p0 = TopicPartition("orders", 0), p1 = TopicPartition("orders", 1), gone = TopicPartition("orders", 5)
        #expect(try store.topicNames(includeInternal: false) == ["orders"])
        #expect(
            try store.layouts(of: ["orders", "missing"]) == ["orders": TopicLayout(name: "orders", partitions: [0, 1], partitionCount: 2)])
        #expect(store.unknownTopic("ordres").message.contains("did you mean 'orders'"))
        #expect(throws: SluiceError.self) { try store.layout(of: "orders").require(2) }
        #expect(try store.offsetRanges([p0, p1, gone]) == [p0: OffsetRange(start: 0, end: 10), p1: OffsetRange(start: 0, end: 0)])
        #expect(try store.offsets(atOrAfter: [p0: 1035, p1: 0]) == [p0: 4])
        #expect(try store.offsets(atOrAfter: [p0: 5000]) == [:])
        #expect(try store.timestamps(at: [p0: [0, 9, 10], p1: [0]]) == [p0: [0: 1000, 9: 1090], p1: [:]])
    }

    @Test func groupOffsetsHistoryAndActivity() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        let p0 = TopicPartition("orders", 0)
        #expect(try store.committedOffsets(of: ["billing"]) == ["billing": [:]])
        #expect(store.unknownGroup("billing").reason == .unknownGroup)
        try store.commit(
            group: "billing", changes: [OffsetChange(p0, offset: 4)], annotations: CommitAnnotations(operation: .seek, detail: "test"))
        #expect(try store.committedOffsets(of: "billing")[p0]?.offset == 4)
        #expect(try store.allCommittedOffsets().mapValues { $0.mapValues(\.offset) } == ["billing": [p0: 4]])
        #expect(try store.history(of: "billing").events.map(\.annotations.operation) == [.seek])
        #expect(store.closeGroups(to: "biling").contains("billing"))
        #expect(try store.activeGroups(["billing"]).isEmpty)
        #expect(try store.allActiveGroups().isEmpty)

        let hold = try store.holdStill("billing", force: false, waitMillis: nil)
        try hold.claim([p0])
        #expect(try store.activeGroups(["billing"]) == ["billing"])
        #expect(try store.allActiveGroups() == ["billing"])
        #expect(try store.partitionHolders(of: "billing", [p0])[p0]?.member == HolderInfo.administrator().member)
        #expect(try store.members(of: ["billing"]) == ["billing": []])
        // A second change waits for the first, then is refused.
        #expect(throws: SluiceError.self) { try store.holdStill("billing", force: false, waitMillis: 0) }
        hold.release()
        #expect(try store.activeGroups(["billing"]).isEmpty)
    }
}
