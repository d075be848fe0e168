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

    /// Fails unless `count` adds partitions to the topic `name` of `old`:
    /// a Kafka-style log cannot shrink.
    public static func requireGrowth(of name: String, from old: Int, to count: Int) throws {
        guard count <= old else { return }
        guard count < old else { throw SluiceError.usage(.invalidArgument, "topic '\(name)' already has \(old) partitions") }
        throw SluiceError.usage(
            .invalidArgument,
            """
            cannot decrease topic '\(name)' from \(old) to \(count) partitions: a Kafka-style log cannot shrink, because \
            offsets and consumer positions are per partition and the data of removed partitions would have nowhere to go
            """,
            remedy: """
                to spread a topic over fewer or more partitions, copy it with 'sluice topic \
                migrate \(name) --to NEW --partitions N' (or 'sluice redistribute' for a backlog)
                """)
    }

    /// Splits `key=value` config assignments; a malformed one is a usage error.
    public static func configAssignments(_ texts: [String]) throws -> [(key: String, value: String)] {
        try texts.map { text in
            guard let equals = text.firstIndex(of: "=") else {
                throw SluiceError.usage(.invalidConfig, "malformed config '\(text.printable)'", remedy: "write it as key=value")
            }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }
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
    /// nil when the store cannot tell for some partition.
    public var bytes: Int64? {
        partitions.reduce(0) { total, partition in total.flatMap { total in partition.bytes.map { total + $0 } } }
    }
}

/// What `topic describe` shows per partition, each O(1) in the partition's size.
/// `segments` and `tailProblem` are a local store's; a cluster reports none.
public struct PartitionSummary: Sendable {
    public var partition: Int
    public var logStartOffset: Int64
    public var endOffset: Int64
    /// The partition's size on disk (a cluster: the leader's replica, where
    /// the broker answers DescribeLogDirs; nil where it does not).
    public var bytes: Int64?
    public var segments: Int?
    public var oldestTimestamp: Int64?
    public var newestTimestamp: Int64?
    /// A problem at the tail (a torn batch awaiting recovery, or damage).
    public var tailProblem: String?

    public var records: Int64 { max(0, endOffset - logStartOffset) }

    public init(
        partition: Int, logStartOffset: Int64, endOffset: Int64, bytes: Int64?, segments: Int?, oldestTimestamp: Int64?,
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
    public static let unknownTopic = Self("unknown-topic")
    public static let topicExists = Self("topic-exists")
    public static let invalidConfig = Self("invalid-config")
    public static let partitionMissing = Self("partition-missing")
}
