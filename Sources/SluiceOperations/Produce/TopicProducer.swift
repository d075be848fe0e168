import KafkaFormat
import SluiceCompression
import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

/// Turns records into batches and appends them to a topic's partitions.
///
/// Partitioning follows Kafka's producer: an explicit partition wins; a keyed
/// record goes to `murmur2(key) % partitions`; unkeyed records stick to one
/// partition until its batch is full, then move to the next (an even spread).
/// Batches (`batchBytes`, Kafka's `batch.size`) collect in a per-partition
/// buffer appended in one write every `flushBytes`. `finish` makes all of it
/// durable; until it returns, nothing is promised.
public final class TopicProducer: TopicWriter {
    public struct Options: Sendable {
        public var compression: CompressionCodec?
        public static let defaultBatchBytes = 16 << 10
        public var batchBytes = defaultBatchBytes
        public var flushBytes = 1 << 20
        /// fsync at least this often while producing (nil: only at the end).
        public var syncIntervalMillis: Int64? = nil
        public init() {}
    }

    public typealias Summary = ProduceSummary

    private final class Lane {
        let partition: Partition
        /// Open while the lane is among the most recently appended ones (`maxOpenAppenders`).
        var appender: PartitionAppender?
        var lastAppend = 0
        let builder: RecordBatchBuilder
        let pending = ByteBuffer(capacity: 1 << 20)
        var records: Int64 = 0
        /// Records in the open batch, and in closed batches not yet appended.
        var open: Int64 = 0
        var batched: Int64 = 0
        var firstOffset: Int64?
        var nextOffset: Int64 = 0

        init(partition: Partition, codec: CompressionCodec, level: Int32) {
            self.partition = partition
            builder = RecordBatchBuilder(codec: codec, zstdLevel: level)
        }
    }

    public private(set) var topic: Topic
    private let options: Options
    private let codec: CompressionCodec
    private var lanes: [Lane?]
    private var stickyPartition: Int
    private var summary = Summary()
    private var lastSync = WallClock.monotonicNanos()
    private var appends = 0
    private var openAppenders = 0
    /// Appenders kept open at once: each holds three files, and a topic may
    /// have more partitions than the descriptor limit allows files.
    private let maxOpenAppenders = max(16, (ResourceLimits.openFiles - 64) / 4)
    private var lastMetadataCheck = WallClock.monotonicNanos()
    private var producedKeyed = false
    /// Records appended to partitions so far: readers see them; they are
    /// durable once `finish` or `syncAppended` returns.
    public private(set) var appendedRecords: Int64 = 0

    public init(topic: Topic, options: Options = Options()) throws {
        try topic.directory.requireWritable("produce to topic '\(topic.name)'")
        try TopicName.requireUserTopic(topic.name, for: "produce")
        self.topic = topic
        self.options = options
        self.codec = topic.config.codec(requested: options.compression)
        lanes = Array(repeating: nil, count: topic.partitionCount)
        stickyPartition = Int.random(in: 0..<topic.partitionCount)
    }

    /// Which partition a record goes to (before it is sent).
    @inline(__always)
    public func choosePartition(explicit: Int?, key: UnsafeRawBufferPointer?) throws -> Int {
        if let explicit {
            guard explicit >= 0 && explicit < topic.partitionCount else { _ = try topic.partition(explicit); return explicit }
            return explicit
        }
        if let key {
            producedKeyed = true
            return KafkaPartitioner.partition(forKey: key, partitions: topic.partitionCount)
        }
        return stickyPartition
    }

    /// Adds one record. `encodedHeaders` holds header entries in record layout.
    @inline(__always)
    public func send(
        partition: Int, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, encodedHeaders: UnsafeRawBufferPointer?
    ) throws {
        let lane = try self.lane(partition)
        lane.builder.append(timestamp: timestamp, key: key, value: value, headerCount: headerCount, encodedHeaders: encodedHeaders)
        lane.records += 1
        lane.open += 1
        summary.records += 1
        summary.bytes += Int64((key?.count ?? 0) + (value?.count ?? 0))
        if lane.builder.uncompressedSize >= options.batchBytes {
            try closeBatch(lane)
            if partition == stickyPartition && key == nil { stickyPartition = (stickyPartition + 1) % topic.partitionCount }
        }
    }

    /// Appends everything buffered so far (not yet durable).
    public func flush() throws {
        for case let lane? in lanes {
            if !lane.builder.isEmpty { try finishBatch(lane) }
            try appendPending(lane)
        }
    }

    /// Appends and fsyncs everything; returns what was produced. Only after
    /// this returns are the records durable.
    public func finish() throws -> Summary {
        try flush()
        try syncAll()
        for case let lane? in lanes where lane.records > 0 {
            summary.partitions[lane.partition.index] = (lane.records, lane.firstOffset ?? lane.nextOffset, lane.nextOffset)
        }
        return summary
    }

    /// Makes what was appended so far durable (after a failure, so what
    /// made it into the log stays there).
    public func syncAppended() -> Bool { (try? syncAll()) != nil }

    private func syncAll() throws {
        for case let lane? in lanes { try lane.appender?.sync() }
        lastSync = WallClock.monotonicNanos()
    }

    @inline(__always)
    private func lane(_ partition: Int) throws -> Lane {
        if let lane = lanes[partition] { return lane }
        let lane = try Lane(partition: topic.partition(partition), codec: codec, level: Zstd.defaultLevel)
        lanes[partition] = lane
        _ = try appender(of: lane)
        return lane
    }

    private func appender(of lane: Lane) throws -> PartitionAppender {
        if let appender = lane.appender { return appender }
        if openAppenders >= maxOpenAppenders { try closeLeastRecentAppender() }
        let appender = try PartitionAppender(partition: lane.partition)
        lane.appender = appender
        openAppenders += 1
        return appender
    }

    /// Makes the least recently appended lane's records durable and closes its
    /// files; it opens them again on its next append.
    private func closeLeastRecentAppender() throws {
        guard let lane = lanes.lazy.compactMap({ $0 }).filter({ $0.appender != nil }).min(by: { $0.lastAppend < $1.lastAppend }) else {
            return
        }
        try lane.appender!.sync()
        lane.appender = nil
        openAppenders -= 1
    }

    private func closeBatch(_ lane: Lane) throws {
        try finishBatch(lane)
        if lane.pending.count >= options.flushBytes { try appendPending(lane) }
    }

    private func finishBatch(_ lane: Lane) throws {
        try lane.builder.finish(baseOffset: 0, into: lane.pending)
        summary.batches += 1
        lane.batched += lane.open
        lane.open = 0
    }

    private func appendPending(_ lane: Lane) throws {
        guard !lane.pending.isEmpty else { return }
        try followPartitionChanges()
        appends += 1
        lane.lastAppend = appends
        let result = try appender(of: lane).append(lane.pending)
        appendedRecords += lane.batched
        lane.batched = 0
        if lane.firstOffset == nil { lane.firstOffset = result.firstOffset }
        lane.nextOffset = result.nextOffset
        lane.pending.clear()
        if let interval = options.syncIntervalMillis,
            WallClock.monotonicNanos() - lastSync >= UInt64(interval) * 1_000_000
        {
            try syncAll()
        }
    }

    /// Follows partitions added while producing (checked once a second, as a
    /// Kafka producer refreshes its metadata), warning once when keyed records
    /// will map differently from then on. A topic deleted (or deleted and
    /// created again) under the producer stops it.
    private func followPartitionChanges() throws {
        let now = WallClock.monotonicNanos()
        guard now - lastMetadataCheck >= 1_000_000_000 else { return }
        lastMetadataCheck = now
        guard let current = try topic.directory.existingTopic(topic.name), current.metadata.id == topic.metadata.id else {
            throw SluiceError.failure(
                .unknownTopic, "topic '\(topic.name)' was deleted while producing to it",
                remedy: "the records reported before this error are in it no longer; create the topic and produce again")
        }
        guard current.partitionCount > topic.partitionCount else { return }
        if producedKeyed {
            Diagnostics.warn(
                """
                topic '\(topic.name)' now has \(current.partitionCount) partitions (it had \(topic.partitionCount)): keyed records from \
                here on go to murmur2(key) % \(current.partitionCount), so a key's earlier records stay in the partition it had before
                """
            )
        }
        lanes += Array(repeating: nil, count: current.partitionCount - topic.partitionCount)
        topic = current
    }
}
