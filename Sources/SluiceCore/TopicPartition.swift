/// A topic and one of its partitions: the key of everything kept per
/// partition (offsets, leases, checkpoints). Printed as Kafka names a
/// partition's directory, `topic-N`.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int

    public init(_ topic: String, _ partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }

    public var description: String { "\(topic)-\(partition)" }
}
