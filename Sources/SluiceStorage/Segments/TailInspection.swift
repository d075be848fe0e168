import KafkaFormat
import SluiceCore
import SluiceSystem

/// What the end of a partition's last segment holds: where its valid data
/// ends, the next offset, and whether its indexes cover it. Readers use it to
/// find the readable end without a lock; the appender uses it to recover.
///
/// It trusts the index up to its last entry that points at a real batch with
/// the matching offset, and scans from there (a few KiB) validating every
/// batch's CRC, re-deriving the index entries that batches after it earn.
public struct TailInspection {
    public let segment: Segment
    public let fileSize: Int64
    /// Bytes from the start of the segment to the end of its last valid entry.
    public let validSize: Int64
    /// The offset after the last valid entry (the segment's base offset if none).
    public let endOffset: Int64
    /// The first invalid entry after the valid data, if any.
    public let problem: ScanProblem?
    /// Whether that problem is a torn write that recovery may cut off.
    public let problemIsTorn: Bool
    /// Index state at `validSize`, ready for the next append.
    public let indexer: SegmentIndexer
    public let offsetEntriesInFile: Int
    public let timeEntriesInFile: Int
    /// Leading entries of each index that are consistent with the log.
    public let trustedOffsetEntries: Int
    public let trustedTimeEntries: Int
    /// Entries the scanned batches earn after the trusted ones.
    public let derivedOffsetEntries: [OffsetIndexEntry]
    public let derivedTimeEntries: [TimeIndexEntry]
    /// The first batch's maximum timestamp, which `segment.ms` rolls count from.
    public let firstBatchMaxTimestamp: Int64?
    public let batchesScanned: Int
    /// The first scanned batch that does not start where the one before it
    /// ended (or, first in the segment, at its base offset): legitimate in a
    /// compacted broker log, damage in a sluice partition.
    public let discontinuity: ScanProblem?

    public var maxTimestamp: Int64 { indexer.maxTimestamp }

    /// Whether the index files hold exactly the entries the valid log earns.
    public var indexesConsistent: Bool {
        trustedOffsetEntries == offsetEntriesInFile && derivedOffsetEntries.isEmpty
            && trustedTimeEntries == timeEntriesInFile && derivedTimeEntries.isEmpty
    }

    /// Where the scan of the tail began (the trusted index entry's batch, or the segment's start).
    let scanStart: Int64

    /// Inspects `segment` (its log must exist).
    public static func inspect(_ segment: Segment, indexInterval: Int64, buffer: ByteBuffer = ByteBuffer(capacity: 64 << 10)) throws
        -> TailInspection
    {
        let log = try File.open(segment.logPath)
        let fileSize = try log.size()
        let offsetIndex = try OffsetIndexFile.open(segment.indexPath)
        let timeIndex = try TimeIndexFile.open(segment.timeIndexPath)

        var candidates = try consistentEntries(offsetIndex, log: log, fileSize: fileSize, baseOffset: segment.baseOffset)
        while true {
            let inspection = try inspect(
                segment, from: candidates.last, log: log, fileSize: fileSize, offsetIndex: offsetIndex,
                timeIndex: timeIndex, indexInterval: indexInterval, buffer: buffer)
            // An index entry names a batch's offset and position, not whether the batch is
            // still sound: when the batch it points at fails (a flipped bit, a zeroed page), the
            // entry proves nothing, and the scan starts again from the entry before it. Without
            // this the end fell back to the segment's base offset and writers reused offsets.
            guard inspection.batchesScanned == 0, let damaged = inspection.problem, damaged.position == inspection.scanStart,
                candidates.popLast() != nil
            else { return inspection }
        }
    }

    private static func inspect(
        _ segment: Segment, from trusted: (index: Int, entry: OffsetIndexEntry)?, log: File, fileSize: Int64,
        offsetIndex: OffsetIndexFile?, timeIndex: TimeIndexFile?, indexInterval: Int64,
        buffer: ByteBuffer
    ) throws -> TailInspection {
        var trustedTime = 0
        var lastTrustedTime: TimeIndexEntry?
        // Time entries up to the trusted offset entry were written with it or before it.
        if let trusted, let timeIndex,
            let last = try lastIndexEntry(
                count: timeIndex.entryCount, read: timeIndex.entry,
                where: { $0.relativeOffset <= trusted.entry.relativeOffset })
        {
            lastTrustedTime = last.entry
            trustedTime = last.index + 1
        }
        var indexer = SegmentIndexer(
            baseOffset: segment.baseOffset, interval: indexInterval,
            lastOffsetEntry: trusted?.entry, lastTimeEntry: lastTrustedTime)
        let start = Int64(trusted?.entry.position ?? 0)
        var derivedOffsets: [OffsetIndexEntry] = []
        var derivedTimes: [TimeIndexEntry] = []
        if let trusted, let offsetIndex {
            // A writer killed between writing an offset entry and the time
            // entry that goes with it leaves the time index one short: replay
            // the batches since the previous offset entry (the running maximum
            // before them is in the trusted time entries) to find it.
            let previous = trusted.index > 0 ? Int64(try offsetIndex.entry(trusted.index - 1).position) : 0
            let replay = SegmentScanner(file: log, limit: fileSize, from: previous, buffer: buffer, chunkSize: 64 << 10)
            replay: while case .batch(let batch) = try replay.next(), batch.position <= start {
                _ = indexer.observe(position: batch.position, lastOffset: batch.header.lastOffset, maxTimestamp: batch.header.maxTimestamp)
                if batch.position == start { break replay }
            }
            if let missing = indexer.finalTimeEntry() { derivedTimes.append(missing) }
        }
        let scanner = SegmentScanner(file: log, limit: fileSize, from: start, buffer: buffer, chunkSize: 64 << 10)
        var endOffset = segment.baseOffset
        var validSize = start
        var problem: ScanProblem?
        var discontinuity: ScanProblem?
        var expectedBase: Int64? = trusted == nil ? segment.baseOffset : nil
        var scanned = 0
        scan: while true {
            switch try scanner.next() {
            case .batch(let batch):
                if let expected = expectedBase, batch.header.baseOffset != expected, discontinuity == nil {
                    discontinuity = ScanProblem(
                        position: batch.position,
                        kind: .invalidEntry(.invalid("the batch starts at offset \(batch.header.baseOffset), not \(expected)")),
                        claimedOffset: batch.header.baseOffset)
                }
                expectedBase = batch.header.nextOffset
                let earned = indexer.observe(
                    position: batch.position, lastOffset: batch.header.lastOffset,
                    maxTimestamp: batch.header.maxTimestamp)
                if let e = earned.offset { derivedOffsets.append(e) }
                if let e = earned.time { derivedTimes.append(e) }
                endOffset = batch.header.nextOffset
                validSize = scanner.position
                scanned += 1
            case .legacy(let legacy):
                let message = legacy.message
                let earned = indexer.observe(position: legacy.position, lastOffset: message.offset, maxTimestamp: message.timestamp ?? -1)
                if let e = earned.offset { derivedOffsets.append(e) }
                if let e = earned.time { derivedTimes.append(e) }
                endOffset = message.offset + 1
                validSize = scanner.position
                expectedBase = nil
                scanned += 1
            case .problem(let p):
                problem = p
                break scan
            case .end:
                break scan
            }
        }
        let torn = try problem.map { try $0.isTornTail(scanner: scanner) } ?? false
        return TailInspection(
            segment: segment, fileSize: fileSize, validSize: validSize, endOffset: endOffset,
            problem: problem, problemIsTorn: torn, indexer: indexer,
            offsetEntriesInFile: offsetIndex?.entryCount ?? 0, timeEntriesInFile: timeIndex?.entryCount ?? 0,
            trustedOffsetEntries: trusted.map { $0.index + 1 } ?? 0, trustedTimeEntries: trustedTime,
            derivedOffsetEntries: derivedOffsets, derivedTimeEntries: derivedTimes,
            firstBatchMaxTimestamp: try firstBatchMaxTimestamp(log, fileSize), batchesScanned: scanned, discontinuity: discontinuity,
            scanStart: start)
    }

    /// Of (up to) the final 16 index entries, those before the first that does
    /// not point at an entry with the offset it claims, oldest first. Older
    /// entries are assumed sound; `verify` checks them all.
    static func consistentEntries(
        _ index: OffsetIndexFile?, log: File, fileSize: Int64,
        baseOffset: Int64
    ) throws -> [(index: Int, entry: OffsetIndexEntry)] {
        guard let index, index.entryCount > 0 else { return [] }
        var i = index.entryCount - 1
        while i >= max(0, index.entryCount - 16) {
            let entry = try index.entry(i)
            if try entryMatches(entry, log: log, fileSize: fileSize, baseOffset: baseOffset) {
                var sound = [(i, entry)]
                for j in stride(from: i - 1, through: max(0, index.entryCount - 16), by: -1) { sound.append((j, try index.entry(j))) }
                return sound.reversed()
            }
            i -= 1
        }
        return []
    }

    /// Whether an index entry points at an entry start holding its offset.
    static func entryMatches(_ entry: OffsetIndexEntry, log: File, fileSize: Int64, baseOffset: Int64) throws -> Bool {
        let position = Int64(entry.position)
        guard entry.position >= 0, entry.relativeOffset >= 0, position + Int64(RecordBatchHeader.size) <= fileSize else { return false }
        var raw = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        guard try raw.withUnsafeMutableBytes({ try log.readFully(into: $0, at: position) }) == raw.count else { return false }
        return raw.withUnsafeBytes { bytes in
            let magic = bytes.loadBigEndian(at: RecordBatchHeader.magicOffset, as: Int8.self)
            let claimed = baseOffset + Int64(entry.relativeOffset)
            if magic == 2 {
                let header = RecordBatchHeader(bytes.baseAddress!)
                return header.lastOffset == claimed && position + Int64(header.totalSize) <= fileSize
            }
            return (magic == 0 || magic == 1) && bytes.loadBigEndian(at: 0, as: Int64.self) == claimed
        }
    }

    static func firstBatchMaxTimestamp(_ log: File, _ fileSize: Int64) throws -> Int64? {
        guard fileSize >= Int64(RecordBatchHeader.size) else { return nil }
        var raw = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        _ = try raw.withUnsafeMutableBytes { try log.readFully(into: $0, at: 0) }
        let header = raw.withUnsafeBytes { RecordBatchHeader($0.baseAddress!) }
        return header.magic == 2 ? header.maxTimestamp : nil
    }
}
