import KafkaFormat
import SluiceCore
import SluiceSystem

/// Appends batches to a partition. Several processes may append to one
/// partition at once: each `append` holds the partition's `flock` (on its
/// directory) only while it writes, and first brings its view of the tail up to
/// date, recovering a torn tail left by a killed writer exactly as Kafka's log
/// recovery does (truncate it, rebuild the segment's index entries, report it).
///
/// Durability: `append` leaves data in the page cache; `sync` makes everything
/// appended so far durable. Rolled segments are synced when sealed.
public final class PartitionAppender {
    public let partition: Partition
    private var active: ActiveSegment?
    private var unsynced: [ObjectIdentifier: File] = [:]
    /// The first fsync that failed. After it the kernel may have dropped the
    /// dirty pages and report the next fsync of the file as a success, so
    /// nothing appended by this appender can be called durable again.
    private var failedSync: SluiceError?
    private let pendingIndex = ByteBuffer(capacity: 4096)
    private let pendingTimeIndex = ByteBuffer(capacity: 4096)

    public struct Result: Sendable {
        /// The offset given to the first record.
        public var firstOffset: Int64
        /// The offset after the last record.
        public var nextOffset: Int64
    }

    public init(partition: Partition) throws {
        guard partition.isWritable else {
            throw SluiceError.failure(
                .readOnly, "partition \(partition.name) is read-only (a Kafka broker's directory or a copy of one)",
                remedy: "export it and import it into a sluice data directory to write to it")
        }
        // Never follow a link planted in the data directory to write elsewhere.
        guard try FileSystem.kind(of: partition.directory) == .directory else {
            throw SluiceError.failure(
                .partitionMissing,
                "partition \(partition.name) at \(partition.directory) is not a plain directory (missing, or a symbolic link)",
                remedy: "run 'sluice verify \(partition.topic)'")
        }
        self.partition = partition
    }

    /// Appends complete batches (`batches` holds them back to back). Their base
    /// offsets are assigned here, rewritten in place in `batches` (outside the
    /// CRC, as Kafka's broker does).
    @discardableResult
    public func append(_ batches: ByteBuffer) throws -> Result {
        let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
        defer { lock.release() }
        try PendingAppend.settle(partition)
        try refresh()
        var segment = active!
        let firstOffset = segment.nextOffset
        var runStart = 0
        var at = 0
        while at < batches.count {
            let batch = batches.base + at
            var header = RecordBatchHeader(UnsafeRawPointer(batch))
            precondition(header.magic == 2 && at + header.totalSize <= batches.count, "append takes complete v2 batches")
            if segment.mustRoll(before: header, pendingBytes: Int64(at - runStart), config: partition.config) {
                try write(UnsafeRawBufferPointer(start: batches.base + runStart, count: at - runStart), to: segment)
                runStart = at
                segment = try roll(segment)
            }
            RecordBatchHeader.rebase(batch, to: segment.nextOffset)
            header.baseOffset = segment.nextOffset
            let earned = segment.indexer.observe(
                position: segment.size + Int64(at - runStart),
                lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp)
            earned.offset?.append(to: pendingIndex)
            earned.time?.append(to: pendingTimeIndex)
            if segment.firstBatchMaxTimestamp == nil { segment.firstBatchMaxTimestamp = header.maxTimestamp }
            segment.nextOffset = header.nextOffset
            at += header.totalSize
        }
        try write(UnsafeRawBufferPointer(start: batches.base + runStart, count: at - runStart), to: segment)
        return Result(firstOffset: firstOffset, nextOffset: segment.nextOffset)
    }

    /// Brings the tail up to date now, recovering a torn write as the next
    /// append would: for a writer that resumes and may not append again.
    public func recoverTail() throws {
        let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
        defer { lock.release() }
        try refresh()
    }

    /// Makes every append so far durable (fdatasync of the logs and indexes written).
    public func sync() throws {
        for file in unsynced.values { try dataSync(file) }
        unsynced.removeAll()
    }

    private func dataSync(_ file: File) throws {
        if let failedSync { throw failedSync }
        do {
            try file.dataSync()
        } catch let error as SluiceError {
            failedSync = error
            throw error
        }
    }

    /// Starts writing what was appended to disk without waiting for it, so a
    /// later `sync` waits less (advisory: nothing is durable until `sync`).
    public func startWriteback() {
        for file in unsynced.values { file.startWriteback() }
    }

    /// The offset the next record will get, as of the last append (no I/O).
    public var nextOffset: Int64? { active?.nextOffset }

    // MARK: - internals

    private func write(_ run: UnsafeRawBufferPointer, to segment: ActiveSegment) throws {
        guard run.count > 0 else { return }
        do {
            // The time index before the offset index: recovery trusts the time
            // entries up to the last sound offset entry, so a kill between the
            // two writes must leave time entries without offset entries (which
            // it notices), never offset entries without their time entries.
            try segment.log.write(run, at: segment.size)
            if !pendingTimeIndex.isEmpty { try segment.timeIndex.write(pendingTimeIndex.bytes, at: segment.timeIndexSize) }
            if !pendingIndex.isEmpty { try segment.index.write(pendingIndex.bytes, at: segment.indexSize) }
        } catch let error as SluiceError {
            throw undoPartialWrite(segment, error, needed: run.count + pendingIndex.count + pendingTimeIndex.count)
        }
        segment.size += Int64(run.count)
        segment.indexSize += Int64(pendingIndex.count)
        segment.timeIndexSize += Int64(pendingTimeIndex.count)
        markUnsynced(segment.log)
        if !pendingIndex.isEmpty { markUnsynced(segment.index) }
        if !pendingTimeIndex.isEmpty { markUnsynced(segment.timeIndex) }
        pendingIndex.clear()
        pendingTimeIndex.clear()
    }

    private func markUnsynced(_ file: File) { unsynced[ObjectIdentifier(file)] = file }

    /// A failed write (a full disk, most often) may have left part of the run
    /// in the files; cut all three back so the partition is exactly as before
    /// (no torn batch, no stray index entry), and say how much space the write
    /// needed. The next append re-reads the tail.
    private func undoPartialWrite(_ segment: ActiveSegment, _ error: SluiceError, needed: Int) -> SluiceError {
        try? segment.log.truncate(to: segment.size)
        try? segment.index.truncate(to: segment.indexSize)
        try? segment.timeIndex.truncate(to: segment.timeIndexSize)
        pendingIndex.clear()
        pendingTimeIndex.clear()
        active = nil
        guard error.reason == .noSpace else { return error }
        var full = SluiceError.failure(
            .noSpace, "\(error.message); appending to partition \(partition.name) needed \(ByteCount.format(Int64(needed)))",
            remedy: error.remedy)
        full.neededBytes = Int64(needed)
        return full
    }

    /// The active segment, its tail recovered, for a caller that already holds
    /// the partition's lock (an atomic multi-partition append).
    func activeSegmentUnderLock() throws -> ActiveSegment {
        try refresh()
        return active!
    }

    /// Brings `active` up to date with the directory: unchanged if nobody else
    /// wrote since our last append, otherwise re-inspected (and recovered).
    private func refresh() throws {
        let segments = try partition.segments()
        let last = segments.last!
        // Only an empty segment is ever replaced (by an import): a non-empty
        // one of the size we left needs no second look.
        if let active, active.segment == last, try active.log.size() == active.size,
            try active.size > 0 || !PendingAppend.replaced(active.segment, by: last, open: active.log)
        {
            return
        }
        active = try recover(last)
    }

    /// Opens the last segment for appending, truncating a torn tail and
    /// repairing its index entries first.
    func recover(_ segment: Segment) throws -> ActiveSegment {
        let tail = try TailInspection.inspect(segment, indexInterval: partition.config.indexIntervalBytes)
        // Appending after a damaged base offset would give new records wrong offsets.
        if let damage = tail.discontinuity { throw SluiceError.corruption(partition.name, segment, damage) }
        let log = try File.open(segment.logPath, .readWrite)
        let index = try File.openOrCreate(segment.indexPath)
        let timeIndex = try File.openOrCreate(segment.timeIndexPath)
        var repaired = false
        if let problem = tail.problem {
            guard tail.problemIsTorn else { throw SluiceError.damagedTail(partition, segment, problem, validEnd: tail.endOffset) }
            try log.truncate(to: tail.validSize)
            Diagnostics.warn(
                """
                recovered partition \(partition.name): removed \(tail.fileSize - tail.validSize) bytes of a torn write \
                at byte \(tail.validSize) of \(segment.logName) (\(problem)); the log now ends at offset \(tail.endOffset)
                """
            )
            repaired = true
        }
        if !tail.indexesConsistent {
            // Time index first, as in `write`.
            try rewriteIndexTail(
                timeIndex, keep: tail.trustedTimeEntries, entrySize: TimeIndexEntry.size,
                derived: tail.derivedTimeEntries.map { e in { e.append(to: $0) } })
            try rewriteIndexTail(
                index, keep: tail.trustedOffsetEntries, entrySize: OffsetIndexEntry.size,
                derived: tail.derivedOffsetEntries.map { e in { e.append(to: $0) } })
            repaired = true
        }
        if repaired {
            for file in [log, index, timeIndex] { try dataSync(file) }
        }
        return ActiveSegment(
            segment: segment, log: log, index: index, timeIndex: timeIndex, size: tail.validSize,
            nextOffset: tail.endOffset, indexer: tail.indexer,
            indexSize: Int64((tail.trustedOffsetEntries + tail.derivedOffsetEntries.count) * OffsetIndexEntry.size),
            timeIndexSize: Int64((tail.trustedTimeEntries + tail.derivedTimeEntries.count) * TimeIndexEntry.size),
            firstBatchMaxTimestamp: tail.firstBatchMaxTimestamp)
    }

    private func rewriteIndexTail(_ file: File, keep: Int, entrySize: Int, derived: [(ByteBuffer) -> Void]) throws {
        try file.truncate(to: Int64(keep * entrySize))
        let bytes = ByteBuffer(capacity: max(16, derived.count * entrySize))
        for append in derived { append(bytes) }
        try file.write(bytes.bytes, at: Int64(keep * entrySize))
    }

    /// Seals `segment`: its final time-index entry (Kafka writes one when a
    /// segment stops being the active one), and an fsync of its three files.
    func seal(_ segment: ActiveSegment) throws {
        if let final = segment.indexer.finalTimeEntry() {
            final.append(to: pendingTimeIndex)
            try segment.timeIndex.write(pendingTimeIndex.bytes, at: segment.timeIndexSize)
            segment.timeIndexSize += Int64(pendingTimeIndex.count)
            pendingTimeIndex.clear()
        }
        for file in [segment.log, segment.index, segment.timeIndex] {
            try dataSync(file)
            unsynced[ObjectIdentifier(file)] = nil
        }
    }

    /// Seals `segment` and starts a new one at the next offset, made durable
    /// in the directory.
    private func roll(_ segment: ActiveSegment) throws -> ActiveSegment {
        try seal(segment)
        let next = Segment(directory: partition.directory, baseOffset: segment.nextOffset)
        let log = try File.openOrCreate(next.logPath)
        let index = try File.openOrCreate(next.indexPath, truncate: true)
        let timeIndex = try File.openOrCreate(next.timeIndexPath, truncate: true)
        guard try log.size() == 0 else {
            throw SluiceError.failure(
                .corruptLog, "cannot roll partition \(partition.name): \(next.logName) already exists and is not empty",
                remedy: "run 'sluice verify \(partition.topic)'")
        }
        try FileSystem.syncDirectory(partition.directory)
        let rolled = ActiveSegment(
            segment: next, log: log, index: index, timeIndex: timeIndex, size: 0,
            nextOffset: segment.nextOffset,
            indexer: SegmentIndexer(baseOffset: next.baseOffset, interval: partition.config.indexIntervalBytes),
            indexSize: 0, timeIndexSize: 0, firstBatchMaxTimestamp: nil)
        active = rolled
        return rolled
    }
}

/// The appender's view of the segment it writes to.
final class ActiveSegment {
    let segment: Segment
    let log: File
    let index: File
    let timeIndex: File
    var size: Int64
    var nextOffset: Int64
    var indexer: SegmentIndexer
    var indexSize: Int64
    var timeIndexSize: Int64
    var firstBatchMaxTimestamp: Int64?

    init(
        segment: Segment, log: File, index: File, timeIndex: File, size: Int64, nextOffset: Int64,
        indexer: SegmentIndexer, indexSize: Int64, timeIndexSize: Int64, firstBatchMaxTimestamp: Int64?
    ) {
        self.segment = segment
        self.log = log
        self.index = index
        self.timeIndex = timeIndex
        self.size = size
        self.nextOffset = nextOffset
        self.indexer = indexer
        self.indexSize = indexSize
        self.timeIndexSize = timeIndexSize
        self.firstBatchMaxTimestamp = firstBatchMaxTimestamp
    }

    /// Kafka's roll conditions: the segment would outgrow `segment.bytes`; its
    /// first record is older than `segment.ms` relative to the incoming batch;
    /// or the batch's offsets would not fit the index's 32-bit relative offsets.
    /// `pendingBytes` are batches accepted for this segment but not yet written.
    func mustRoll(before header: RecordBatchHeader, pendingBytes: Int64, config: TopicConfig) -> Bool {
        SegmentRoll.isDue(
            size: size + pendingBytes, firstBatchMaxTimestamp: firstBatchMaxTimestamp,
            baseOffset: segment.baseOffset, nextOffset: nextOffset, before: header, config: config)
    }
}

/// Kafka's roll conditions, shared by the appender and `SegmentBuilder`.
enum SegmentRoll {
    /// Whether a segment of `size` bytes (whose first batch had
    /// `firstBatchMaxTimestamp`) must be rolled before `header`'s batch,
    /// which would get `nextOffset`.
    static func isDue(
        size: Int64, firstBatchMaxTimestamp: Int64?, baseOffset: Int64, nextOffset: Int64,
        before header: RecordBatchHeader, config: TopicConfig
    ) -> Bool {
        guard size > 0 else { return false }
        if size + Int64(header.totalSize) > config.segmentBytes { return true }
        if let first = firstBatchMaxTimestamp, header.maxTimestamp - first > config.segmentMs { return true }
        return nextOffset + Int64(header.lastOffsetDelta) - baseOffset > Int64(Int32.max)
    }
}
