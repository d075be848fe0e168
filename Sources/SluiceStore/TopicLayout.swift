import SluiceCore

/// A topic's partitions as a store knows them.
public struct TopicLayout: Equatable, Sendable {
    public var name: String
    /// The partitions that exist: 0..<partitionCount, or on a dead broker's
    /// disks whichever partitions it held.
    public var partitions: [Int]
    public var partitionCount: Int

    public init(name: String, partitions: [Int], partitionCount: Int) {
        self.name = name
        self.partitions = partitions
        self.partitionCount = partitionCount
    }

    /// Fails, saying which partitions there are, unless `partition` is one of them.
    public func require(_ partition: Int) throws {
        guard !partitions.contains(partition) else { return }
        let range =
            partitions == Array(0..<partitionCount)
            ? "0 to \(partitionCount - 1)"
            : partitions.map(String.init).joined(separator: ", ")
        throw SluiceError.usage(.unknownPartition, "topic '\(name)' has no partition \(partition)", remedy: "its partitions are \(range)")
    }

    public var keys: [TopicPartition] { partitions.map { TopicPartition(name, $0) } }
}

/// A partition's offsets: records are at `start..<end`.
public struct OffsetRange: Equatable, Sendable {
    /// The log start offset: the first record that can be read.
    public var start: Int64
    /// The log end offset: the offset the next record appended gets.
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// `offset` moved into the range.
    public func clamp(_ offset: Int64) -> Int64 { min(max(offset, start), end) }
}

/// What `topic describe` and `topic list` report of a topic.
public struct TopicDescription: Sendable {
    public var name: String
    /// The topic id ("" where none is recorded, as in a broker's directory without partition.metadata).
    public var id: String
    public var partitionCount: Int
    /// Every config entry, in a stable order.
    public var config: [(String, String)]
    public var partitions: [PartitionSummary]

    public init(name: String, id: String, partitionCount: Int, config: [(String, String)], partitions: [PartitionSummary]) {
        self.name = name
        self.id = id
        self.partitionCount = partitionCount
        self.config = config
        self.partitions = partitions
    }

    public var records: Int64 { partitions.reduce(0) { $0 + $1.records } }
    public var bytes: Int64 { partitions.reduce(0) { $0 + $1.bytes } }
}

/// What `topic describe` shows per partition, each O(1) in the partition's size.
/// `segments` and `tailProblem` are a local store's; a cluster reports none.
public struct PartitionSummary: Sendable {
    public var partition: Int
    public var logStartOffset: Int64
    public var endOffset: Int64
    public var bytes: Int64
    public var segments: Int
    public var oldestTimestamp: Int64?
    public var newestTimestamp: Int64?
    /// A problem at the tail (a torn batch awaiting recovery, or damage).
    public var tailProblem: String?

    public var records: Int64 { max(0, endOffset - logStartOffset) }

    public init(
        partition: Int, logStartOffset: Int64, endOffset: Int64, bytes: Int64, segments: Int, oldestTimestamp: Int64?,
        newestTimestamp: Int64?, tailProblem: String?
    ) {
        self.partition = partition
        self.logStartOffset = logStartOffset
        self.endOffset = endOffset
        self.bytes = bytes
        self.segments = segments
        self.oldestTimestamp = oldestTimestamp
        self.newestTimestamp = newestTimestamp
        self.tailProblem = tailProblem
    }
}

extension SluiceError.Reason {
    public static let unknownPartition = Self("unknown-partition")
}
