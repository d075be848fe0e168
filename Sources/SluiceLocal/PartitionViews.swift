import SluiceCore
import SluiceGroups
import SluiceStore
import SluiceStorage

/// What group reports need of a partition: its offset range, and the
/// timestamps of the records at some offsets (`PartitionTimestamps`). One
/// view per partition serves every group that reads it.
final class PartitionView {
    private let timestamps: PartitionTimestamps
    var partition: Partition { timestamps.partition }
    var start: Int64 { timestamps.start }
    var end: Int64 { timestamps.end }

    init(_ partition: Partition, scratch: ReadScratch) throws {
        timestamps = try PartitionTimestamps(partition, scratch: scratch)
    }

    /// The timestamps of the first records at or after each offset (none at the end).
    func timestamps(at offsets: Set<Int64>) throws -> [Int64: Int64] {
        try timestamps.timestamps(at: offsets)
    }
}

/// Partition views by topic partition, and the topics behind them, each
/// opened once per report. A deleted topic or partition has no view.
final class PartitionViews {
    let directory: DataDirectory
    private let scratch = ReadScratch()
    private var topics: [String: Topic?] = [:]
    private var views: [TopicPartition: PartitionView?] = [:]

    init(_ directory: DataDirectory) {
        self.directory = directory
    }

    func topic(_ name: String) throws -> Topic? {
        if let cached = topics[name] { return cached }
        let topic = try directory.existingTopic(name)
        topics[name] = topic
        return topic
    }

    /// The view of a partition that must exist: unknown topics and partitions are errors.
    func require(_ key: TopicPartition) throws -> PartitionView {
        let topic = try self.topic(key.topic) ?? directory.topic(key.topic)
        _ = try topic.partition(key.partition)
        guard let view = try view(key) else {
            throw SluiceError.failure(.partitionMissing, "partition \(key) has no directory", remedy: "run 'sluice verify \(key.topic)'")
        }
        return view
    }

    func view(_ key: TopicPartition) throws -> PartitionView? {
        if let cached = views[key] { return cached }
        var view: PartitionView?
        if let topic = try topic(key.topic), topic.partitionIndices.contains(key.partition) {
            do {
                view = try PartitionView(try topic.partition(key.partition), scratch: scratch)
            } catch let error as SluiceError where error.reason == .partitionMissing {
                view = nil
            }
        }
        views[key] = view
        return view
    }
}
