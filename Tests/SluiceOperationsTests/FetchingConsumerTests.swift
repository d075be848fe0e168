import KafkaFormat
import SluiceCore
import SluiceOperations
import SluiceStore
import SluiceSystem
import TestSupport
import Testing

/// `FetchingConsumer` against a scripted store, for the answers the test
/// broker cannot give: a position deleted under the reader (Kafka answers
/// OFFSET_OUT_OF_RANGE with no offsets) and a topic deleted while it is read.
@Suite struct FetchingConsumerTests {
    /// One partition holding records `range` (one batch each, value "v<offset>"),
    /// whose fetches answer from `answers` first (nil: the partition is not in
    /// the answer), each then moving the range to its `then`, and from the log after.
    final class ScriptedStore: TopicStore, BatchSource {
        var range: OffsetRange
        var answers: [(answer: FetchedData?, then: OffsetRange)]
        var fetchedAt: [Int64] = []
        let key = TopicPartition("t", 0)

        init(range: OffsetRange, answers: [(answer: FetchedData?, then: OffsetRange)]) {
            self.range = range
            self.answers = answers
        }

        func fetch(_ positions: [TopicPartition: Int64], waitMillis: Int, readCommitted: Bool) throws -> [TopicPartition: FetchedData] {
            let position = positions[key]!
            fetchedAt.append(position)
            if !answers.isEmpty {
                let (answer, then) = answers.removeFirst()
                range = then
                return answer.map { [key: $0] } ?? [:]
            }
            return [key: FetchedData(bytes: try Self.batches(position..<range.end)[...], end: range.end, logStart: range.start)]
        }

        static func batches(_ offsets: Range<Int64>) throws -> [UInt8] {
            let builder = RecordBatchBuilder()
            let out = ByteBuffer(capacity: 1 << 12)
            for offset in offsets {
                let value = Array("v\(offset)".utf8)
                value.withUnsafeBytes { builder.append(timestamp: 1_700_000_000_000 + offset, key: nil, value: $0) }
                try builder.finish(baseOffset: offset, into: out)
            }
            return Array(out.bytes)
        }

        func offsetRanges(_ partitions: [TopicPartition]) throws -> [TopicPartition: OffsetRange] { [key: range] }
        /// An open transaction's first offset, below the high watermark (nil: none open).
        var openTransaction: Int64?
        func lastStableOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] { [key: openTransaction ?? range.end] }
        func unavailable(_ partition: TopicPartition) -> SluiceError { .failure(.partitionMissing, "partition \(partition) is gone") }
        var location: String { "scripted" }
        func topicNames(includeInternal: Bool) throws -> [String] { ["t"] }
        func layouts(of topics: [String]) throws -> [String: TopicLayout] {
            ["t": TopicLayout(name: "t", partitions: [0], partitionCount: 1)]
        }
        func unknownTopic(_ name: String) -> SluiceError { .failure(.unknownTopic, "no topic \(name)") }
        func describeTopics(_ names: [String]) throws -> [TopicDescription] { [] }
        func createTopic(_ name: String, partitions: Int, config: [String], validateOnly: Bool) throws -> TopicLayout {
            throw unknownTopic(name)
        }
        func deleteTopic(_ name: String) throws {}
        func addPartitions(_ name: String, to count: Int) throws -> (old: Int, new: Int) { (1, 1) }
        func alterConfig(_ name: String, assignments: [String]) throws -> [(String, String)] { [] }
        func offsets(atOrAfter times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] { [:] }
        func timestamps(at offsets: [TopicPartition: Set<Int64>]) throws -> [TopicPartition: [Int64: Int64]] { [:] }
    }

    func consume(
        _ store: ScriptedStore, from start: StartPosition, follow: Bool = false, isolation: Isolation = .readUncommitted
    ) throws -> [String] {
        let dir = TemporaryDirectory()
        let path = dir.file("out")
        var options = TopicConsumer.Options()
        options.follow = follow
        options.isolation = isolation
        options.resetAfterDeletion = start
        options.idleTimeoutMillis = follow ? 50 : nil
        let consumer = FetchingConsumer(
            store: store, topic: "t", options: options, formatter: RecordFormatter(.valueLines),
            output: BufferedOutput(file: try File.create(path)))
        _ = try Diagnostics.silenced { try consumer.run([0], from: start, shouldStop: { false }) }
        return String(decoding: try FileSystem.readIfExists(path) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Kafka's out-of-range answer carries no offsets (-1): the consumer asks
    /// the store for the range and goes on from its start, and still ends.
    @Test func aPositionDeletedUnderTheReaderContinuesAtTheLogStartAndEnds() throws {
        // The start resolves to 0; retention then moves the log start to 3 before the first fetch.
        let outOfRange = FetchedData(bytes: [], end: -1, logStart: -1, outOfRange: true)
        let store = ScriptedStore(range: OffsetRange(start: 0, end: 5), answers: [(outOfRange, OffsetRange(start: 3, end: 5))])
        #expect(try consume(store, from: .earliest) == ["v3", "v4"])
        #expect(store.fetchedAt == [0, 3])
    }

    /// Read committed, `latest` and `-N` count from the last stable offset, not the high watermark.
    @Test(arguments: [(StartPosition.latest, Int64(6)), (.fromEnd(2), 4), (.fromEnd(9), 0), (.earliest, 0)])
    func readCommittedStartsCountFromTheLastStableOffset(start: StartPosition, expected: Int64) throws {
        let store = ScriptedStore(range: OffsetRange(start: 0, end: 10), answers: [])
        store.openTransaction = 6
        _ = try consume(store, from: start, follow: true, isolation: .readCommitted)
        #expect(store.fetchedAt.first == expected)
    }

    @Test func aTopicDeletedWhileReadIsAnErrorNotALoop() throws {
        let store = ScriptedStore(range: OffsetRange(start: 0, end: 5), answers: [(nil, OffsetRange(start: 0, end: 0))])
        let error = try #require(throws: SluiceError.self) { try consume(store, from: .earliest, follow: true) }
        #expect(error.message == "partition t-0 is gone")
        #expect(store.fetchedAt == [0])
    }
}
