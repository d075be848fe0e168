import SluiceCore

/// Raw record batches of partitions, exactly as stored: what a Fetch returns
/// on a cluster. `FetchingConsumer` reads a topic through it.
public protocol BatchSource: AnyObject {
    /// For each partition, the whole batches from the one holding its offset
    /// on (the last may be cut short), waiting up to `waitMillis` for data
    /// when there is none. Read uncommitted, or read committed (up to the
    /// last stable offset, with the aborted transactions in range).
    func fetch(_ positions: [TopicPartition: Int64], waitMillis: Int, readCommitted: Bool) throws -> [TopicPartition: FetchedData]

    /// Each partition's last stable offset: where a read-committed reader's
    /// log ends (the first offset of the oldest open transaction, else the
    /// high watermark). Cluster: ListOffsets latest, read committed.
    func lastStableOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64]
}

/// One partition's share of a fetch.
public struct FetchedData: Sendable {
    /// Log entries (batches) as stored; empty when nothing is there yet.
    public var bytes: ArraySlice<UInt8>
    /// The log end (high watermark; the last stable offset when read committed).
    public var end: Int64
    public var logStart: Int64
    /// Read committed: (producer id, first offset) of each aborted transaction in range.
    public var abortedTransactions: [(producerId: Int64, firstOffset: Int64)]
    /// Set when the position is outside the log (deleted by retention, or past the end).
    public var outOfRange: Bool

    public init(
        bytes: ArraySlice<UInt8>, end: Int64, logStart: Int64, abortedTransactions: [(producerId: Int64, firstOffset: Int64)] = [],
        outOfRange: Bool = false
    ) {
        self.bytes = bytes
        self.end = end
        self.logStart = logStart
        self.abortedTransactions = abortedTransactions
        self.outOfRange = outOfRange
    }
}
