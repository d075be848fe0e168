/// Where `produce` sends records: a topic's partitions in a data directory
/// (`TopicProducer`) or on a cluster (`ClusterProducer`). Both partition as
/// Kafka's producer does, batch records, and promise nothing until `finish`
/// returns (local: fsync'd; cluster: acknowledged by all in-sync replicas).
public protocol TopicWriter: AnyObject {
    /// Which partition a record goes to: an explicit one, murmur2 of its key,
    /// or the sticky partition of unkeyed records.
    func choosePartition(explicit: Int?, key: UnsafeRawBufferPointer?) throws -> Int

    /// Adds one record. `encodedHeaders` holds header entries in record layout.
    func send(
        partition: Int, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, encodedHeaders: UnsafeRawBufferPointer?
    ) throws

    /// Writes out everything and waits until it is durable; returns what was produced.
    func finish() throws -> ProduceSummary

    /// Records written so far that readers can see (after a failure: what made it).
    var appendedRecords: Int64 { get }

    /// After a failure, makes what was written durable where that takes a
    /// step of its own (local: fsync); false when that is not known.
    func syncAppended() -> Bool
}

/// What a `produce` run wrote.
public struct ProduceSummary: Sendable {
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    public var batches: Int64 = 0
    /// Records and offset range per partition.
    public var partitions: [Int: (records: Int64, firstOffset: Int64, nextOffset: Int64)] = [:]

    public init() {}
}
