import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

/// Committed offsets of consumer groups, kept as Kafka keeps them: in the
/// internal topic `__consumer_offsets` (50 partitions; a group lives in
/// partition `abs(javaHashCode(group)) % 50`), one record per committed
/// partition, OffsetCommitKey v1 → OffsetCommitValue v3, a null value
/// deleting the key. The latest record per key is the state; the records
/// before it are the history that powers rollback, rates and trends.
///
/// - A commit is one record batch appended through `PartitionAppender`: all of
///   it or none of it survives a crash, and concurrent committers are
///   serialised by the partition's lock. An `.immediate` commit (seek,
///   rollback, delete, every administrative change) is fsynced before
///   `commit` returns. A `.deferred` commit (a consumer's progress) is fsynced
///   at most `deferredSyncMillis` later or at `flush()`: a killed consumer
///   loses none (the page cache outlives the process), and a power loss can
///   lose at most that much progress, which only makes the group re-read
///   records (at-least-once holds) — Kafka's brokers do not fsync commits either.
/// - Reading costs the snapshot plus the log written after it
///   (`OffsetsSnapshot`); committers refresh a snapshot once
///   `snapshotInterval` (2000) records follow it. Commands that only read never write.
/// - History is kept for the offsets topic's `retention.ms` (default 7 days;
///   `sluice topic alter __consumer_offsets -c retention.ms=30d`): once a
///   sealed segment is older, the latest commit of every key it holds is
///   appended again (`sluice.op=retain`) and the segment is removed, so
///   committed offsets themselves never expire.
///
/// Files: `.sluice/groups/state/__consumer_offsets-<N>.snapshot` and
/// `.lock` (committers share it; retention takes it alone).
public final class OffsetsStore {
    public static let topicName = "__consumer_offsets"

    public enum Durability: Sendable {
        /// fsynced before `commit` returns.
        case immediate
        /// fsynced within `deferredSyncMillis`, or by `flush()`.
        case deferred
    }

    /// How long a `.deferred` commit may stay unsynced.
    public var deferredSyncMillis: Int64 = 1000
    private var unsyncedSince: [Int: UInt64] = [:]
    /// Records after the snapshot that make a committer write a new one.
    public var snapshotInterval: Int64 = 2000
    /// How often one process checks a partition's history retention.
    static let retentionCheckIntervalMillis: Int64 = 600_000
    /// The offsets topic's config: Kafka's 100 MiB segments, rolled daily so
    /// retention removes history a day at a time.
    static var topicConfig: TopicConfig {
        var config = TopicConfig()
        config.segmentBytes = 100 << 20
        config.segmentMs = 86_400_000
        return config
    }

    public let directory: DataDirectory
    /// The time commits are stamped with (tests move it).
    public var clock: () -> Int64 = WallClock.nowMillis
    private var cachedTopic: Topic?
    private var states: [Int: OffsetsState] = [:]
    private var appenders: [Int: PartitionAppender] = [:]
    private var snapshotCovers: [Int: Int64] = [:]
    private var retentionCheckedAt: [Int: Int64] = [:]

    public init(directory: DataDirectory) {
        self.directory = directory
    }

    var stateDirectory: String { directory.metaPath + "/groups/state" }
    func snapshotPath(_ index: Int) -> String { "\(stateDirectory)/\(Self.topicName)-\(index).snapshot" }
    func lockPath(_ index: Int) -> String { "\(stateDirectory)/\(Self.topicName)-\(index).lock" }

    // MARK: - reading

    /// The offsets topic, nil while no group has ever committed.
    public func offsetsTopic() throws -> Topic? {
        if let cachedTopic { return cachedTopic }
        cachedTopic = try directory.existingTopic(Self.topicName)
        return cachedTopic
    }

    /// The offsets partition that holds `group`.
    func partitionIndex(of group: String, in topic: Topic) -> Int {
        let count = directory.kind == .sluice ? topic.partitionCount : ConsumerOffsetsPartitioner.defaultPartitionCount
        return ConsumerOffsetsPartitioner.partition(forGroup: group, partitionCount: count)
    }

    /// The offsets partitions that may hold `group`: in a sluice store the
    /// one it hashes to; in a broker's directory every one present, since
    /// the broker's `offsets.topic.num.partitions` is not known offline and
    /// a broker holds only the partitions it replicated.
    func partitionIndices(holding group: String, in topic: Topic) -> [Int] {
        directory.kind == .sluice ? [partitionIndex(of: group, in: topic)] : topic.partitionIndices
    }

    /// The committed offsets of one group (empty when it has none).
    public func offsets(of group: String) throws -> [TopicPartition: CommittedOffset] {
        try GroupName.validate(group)
        guard let topic = try offsetsTopic() else { return [:] }
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for index in partitionIndices(holding: group, in: topic) {
            offsets.merge(try state(index, in: topic).groups[group] ?? [:]) { current, _ in current }
        }
        return offsets
    }

    /// Every group's committed offsets.
    public func allOffsets() throws -> [String: [TopicPartition: CommittedOffset]] {
        guard let topic = try offsetsTopic() else { return [:] }
        var all: [String: [TopicPartition: CommittedOffset]] = [:]
        for index in topic.partitionIndices {
            all.merge(try state(index, in: topic).groups) { current, _ in current }
        }
        return all
    }

    /// The highest offset any group has committed on each partition: offsets
    /// that a repair must never give to new records.
    public func highestCommittedOffsets() throws -> [TopicPartition: Int64] {
        var highest: [TopicPartition: Int64] = [:]
        for offsets in try allOffsets().values {
            for (partition, committed) in offsets { highest[partition] = max(highest[partition] ?? 0, committed.offset) }
        }
        return highest
    }

    /// Every commit record of a group still in the log, oldest first.
    public func history(of group: String) throws -> GroupHistory {
        try GroupName.validate(group)
        guard let topic = try offsetsTopic() else { return GroupHistory(events: [], keptSince: nil) }
        var events: [CommitEvent] = []
        var keptSince: Int64?
        for index in partitionIndices(holding: group, in: topic) {
            let partition = try topic.partition(index)
            guard try FileSystem.isDirectory(partition.directory) else { continue }
            let summary = try partition.summary()
            var pending = PendingTransactions()
            let before = events.count
            _ = try OffsetsLogScan(partition: partition, group: group).run(from: summary.logStartOffset, pending: &pending) {
                events.append($0)
            }
            if events.count > before && summary.logStartOffset > 0 { keptSince = summary.oldestTimestamp }
        }
        return GroupHistory(events: events, keptSince: keptSince)
    }

    /// The state of one offsets partition, brought up to its readable end.
    func state(_ index: Int, in topic: Topic) throws -> OffsetsState {
        let partition = try topic.partition(index)
        guard try FileSystem.isDirectory(partition.directory) else { return OffsetsState(covers: 0, topicID: topic.metadata.id) }
        do {
            return try refresh(index, partition, topic)
        } catch let error as SluiceError where error.reason == .offsetOutOfRange {
            // History retention removed a segment while it was being read: read again.
            states[index] = nil
            return try refresh(index, partition, topic, trustSnapshot: false)
        }
    }

    private func refresh(_ index: Int, _ partition: Partition, _ topic: Topic, trustSnapshot: Bool = true) throws -> OffsetsState {
        let (start, end) = try partition.offsetRange()
        let snapshot = states[index] == nil && trustSnapshot ? try loadSnapshot(index, partition, topic, range: (start, end)) : nil
        var state = states[index] ?? snapshot ?? OffsetsState(covers: start, topicID: topic.metadata.id)
        if state.covers < start || state.covers > end {
            state = OffsetsState(covers: start, topicID: topic.metadata.id)
        }
        states[index] = nil
        if state.covers < end {
            var pending = state.pending
            let result = try OffsetsLogScan(partition: partition).run(from: state.covers, pending: &pending) { state.apply($0) }
            state.pending = pending
            state.covers = result.nextOffset
            if let batch = result.lastBatch { state.lastBatch = batch }
        }
        states[index] = state
        return state
    }

    /// A snapshot still valid for this log: same topic, and the log still
    /// holds the batch it ended with (it was not truncated and rewritten);
    /// `range` is the log's offset range.
    private func loadSnapshot(_ index: Int, _ partition: Partition, _ topic: Topic, range: (start: Int64, end: Int64)) throws
        -> OffsetsState?
    {
        guard let bytes = try FileSystem.readIfExists(snapshotPath(index), limit: 1 << 30) else { return nil }
        let state: OffsetsState
        do {
            state = try OffsetsSnapshot.decode(bytes)
        } catch {
            Diagnostics.warn("ignoring the damaged snapshot \(snapshotPath(index)) (\(error)); reading \(partition.name) from its start")
            return nil
        }
        guard state.topicID == topic.metadata.id else { return nil }
        if let mark = state.lastBatch, try !holds(partition, mark, range: range) { return nil }
        return state
    }

    private func holds(_ partition: Partition, _ mark: BatchMark, range: (start: Int64, end: Int64)) throws -> Bool {
        guard mark.baseOffset >= range.start, mark.baseOffset < range.end else { return false }
        let reader = try PartitionReader(partition: partition, from: mark.baseOffset, chunkSize: 8192)
        guard case .batch(let batch, _)? = try reader.next() else { return false }
        return batch.header.baseOffset == mark.baseOffset && batch.header.crc == mark.crc
    }

    private func saveSnapshot(_ state: OffsetsState, _ index: Int) throws {
        guard state.pending.isEmpty else { return }
        try FileSystem.makeDirectories(stateDirectory)
        try FileSystem.writeAtomically(snapshotPath(index), OffsetsSnapshot.encode(state))
        snapshotCovers[index] = state.covers
    }

    // MARK: - writing

    /// Commits `changes` of one group as one batch, durably. `annotations`
    /// name the operation; each change supplies its own previous and
    /// log-end offsets.
    public func commit(
        group: String, changes: [OffsetChange], annotations: CommitAnnotations,
        durability: Durability = .immediate
    ) throws {
        try GroupName.validate(group)
        guard !changes.isEmpty else { return }
        for change in changes { try CommitBatch.validateMetadata(change.metadata) }
        let topic = try ensureOffsetsTopic()
        let index = partitionIndex(of: group, in: topic)
        let now = clock()
        var annotations = annotations
        if annotations.operationID == nil { annotations.operationID = newOperationID() }
        let batch = try CommitBatch.encode(changes.map { (group, $0) }, annotations: annotations, now: now)
        let nextOffset: Int64
        do {
            nextOffset = try append(batch, to: index, in: topic, lock: .shared, what: "group '\(group.printable)'", durability: durability)
        } catch var error as SluiceError where error.reason == .noSpace {
            error.message = "cannot commit the offsets of group '\(group.printable)' (nothing was committed): \(error.message)"
            throw error
        }
        // The commit is in the log. The snapshot (a cache) and history
        // retention are housekeeping the next commit retries: a failure there
        // (a full disk, most often) must not make a commit look failed.
        do {
            try refreshSnapshotIfDue(index, topic, nextOffset: nextOffset)
            try enforceRetentionIfDue(index, topic, now: now)
        } catch let error as SluiceError {
            Diagnostics.warn(
                "the offsets of group '\(group.printable)' are committed, but keeping the offsets log tidy failed: \(error.message)")
        }
    }

    /// Creates the offsets topic on the first commit (a concurrent first
    /// commit may win the race; either way it exists afterwards).
    func ensureOffsetsTopic() throws -> Topic {
        if let topic = try offsetsTopic() { return topic }
        try directory.requireWritable("commit consumer group offsets")
        do {
            cachedTopic = try directory.createTopic(
                Self.topicName, partitions: ConsumerOffsetsPartitioner.defaultPartitionCount,
                config: Self.topicConfig, allowInternal: true)
        } catch let error as SluiceError where error.reason == .topicExists {
            cachedTopic = try directory.topic(Self.topicName)
        }
        return cachedTopic!
    }

    /// Makes every deferred commit durable (a consumer calls it as it stops).
    public func flush() throws {
        for index in unsyncedSince.keys.sorted() { try appenders[index]?.sync() }
        unsyncedSince.removeAll()
    }

    /// Appends one batch under the partition's retention lock and fsyncs it as
    /// `durability` says; returns the log's next offset.
    private func append(
        _ batch: ByteBuffer, to index: Int, in topic: Topic, lock kind: File.LockKind, what: String,
        durability: Durability = .immediate
    ) throws -> Int64 {
        let appender: PartitionAppender
        if let cached = appenders[index] {
            appender = cached
        } else {
            appender = try PartitionAppender(partition: try topic.partition(index))
            appenders[index] = appender
            try FileSystem.makeDirectories(stateDirectory)
        }
        let lock = kind == .shared ? try FileLock.acquire(lockPath(index), kind: .shared, what: "the offsets log of \(what)") : nil
        defer { lock?.release() }
        let result = try appender.append(batch)
        let now = WallClock.monotonicNanos()
        let pendingSince = unsyncedSince[index] ?? now
        if durability == .immediate || now - pendingSince >= UInt64(deferredSyncMillis) * 1_000_000 {
            try appender.sync()
            unsyncedSince[index] = nil
        } else {
            unsyncedSince[index] = pendingSince
        }
        return result.nextOffset
    }

    private func refreshSnapshotIfDue(_ index: Int, _ topic: Topic, nextOffset: Int64) throws {
        let covered = snapshotCovers[index] ?? snapshotCoversOnDisk(index)
        snapshotCovers[index] = covered
        guard nextOffset - covered >= snapshotInterval else { return }
        try saveSnapshot(try state(index, in: topic), index)
    }

    /// The `covers` field of the snapshot on disk (0 when there is none), from its first bytes.
    private func snapshotCoversOnDisk(_ index: Int) -> Int64 {
        guard let file = try? File.open(snapshotPath(index)) else { return 0 }
        var header = [UInt8](repeating: 0, count: OffsetsSnapshot.magic.count + 10)
        let n = (try? header.withUnsafeMutableBytes { try file.readFully(into: $0, at: 0) }) ?? 0
        guard n == header.count, header.prefix(OffsetsSnapshot.magic.count).elementsEqual(OffsetsSnapshot.magic) else { return 0 }
        return header.withUnsafeBytes { $0.loadBigEndian(at: OffsetsSnapshot.magic.count + 2, as: Int64.self) }
    }

    // MARK: - history retention

    private func enforceRetentionIfDue(_ index: Int, _ topic: Topic, now: Int64) throws {
        if let last = retentionCheckedAt[index], now - last < Self.retentionCheckIntervalMillis { return }
        retentionCheckedAt[index] = now
        try enforceRetention(index, in: topic, now: now)
    }

    /// Removes the sealed segments of an offsets partition whose newest record
    /// is older than the history retention, after appending again the latest
    /// commit of every key whose latest record they hold (one batch, fsynced).
    /// A crash between the two steps leaves duplicates of current state, never a loss.
    func enforceRetention(_ index: Int, in topic: Topic, now: Int64) throws {
        guard topic.config.retentionMs > 0 else { return }
        let partition = try topic.partition(index)
        let horizon = now - topic.config.retentionMs
        guard try expiredSegments(partition, horizon: horizon) > 0 else { return }
        let lock = try FileLock.acquire(lockPath(index), kind: .exclusive, what: "the offsets log \(partition.name)")
        defer { lock.release() }
        let segments = try partition.segments()
        let doomed = try expiredSegments(partition, horizon: horizon, segments: segments)
        guard doomed > 0 else { return }
        let cut = segments[doomed].baseOffset
        var carried: [(group: String, change: OffsetChange)] = []
        for (group, entries) in try state(index, in: topic).groups {
            for (key, entry) in entries.sorted(by: { $0.key < $1.key }) where entry.logOffset < cut {
                var change = OffsetChange(key, offset: entry.offset, metadata: entry.metadata)
                change.commitTimestamp = entry.commitTimestamp
                carried.append((group, change))
            }
        }
        if !carried.isEmpty {
            let batch = try CommitBatch.encode(
                carried, annotations: CommitAnnotations(operation: .retain, operationID: newOperationID()), now: now)
            _ = try append(batch, to: index, in: topic, lock: .exclusive, what: partition.name)
        }
        for segment in segments[..<doomed] { try segment.remove() }
        try FileSystem.syncDirectory(partition.directory)
        try saveSnapshot(try state(index, in: topic), index)
    }

    /// How many leading sealed segments hold only records older than `horizon`.
    private func expiredSegments(_ partition: Partition, horizon: Int64, segments: [Segment]? = nil) throws -> Int {
        let segments = try segments ?? partition.segments()
        var count = 0
        while count < segments.count - 1,
            let newest = try TimeIndexFile.open(segments[count].timeIndexPath)?.lastEntry?.timestamp, newest < horizon
        {
            count += 1
        }
        return count
    }
}
