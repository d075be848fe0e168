import KafkaFormat
import SluiceCore
import SluiceSystem

/// Streams a partition's entries from an offset, lock-free, in large reads.
///
/// It stops at the readable end: the end of the last complete, CRC-valid
/// batch. A torn batch at the very end (a writer mid-write, or one killed) is
/// the end, not an error; anything invalid *before* the tail stops the reader
/// with an error naming the partition, segment file, byte position and offset.
/// Call `next()` again after it returns nil to pick up newly appended data.
public final class PartitionReader {
    public enum Entry {
        /// A batch holding offsets ≥ `from`; records below `from` are to be skipped.
        case batch(ScannedBatch, from: Int64)
        /// A legacy (magic 0/1) message at offset ≥ the reader's position. A
        /// compressed wrapper is expanded: each of its inner messages comes as
        /// one entry, with its absolute offset, valid until the next call.
        case legacy(LegacyMessage)
    }

    public let partition: Partition
    /// The next offset the reader will return.
    public private(set) var nextOffset: Int64
    private var segments: [Segment]
    private var segmentIndex: Int
    private var scanner: SegmentScanner?
    private var startPosition: Int64
    private let buffer: ByteBuffer
    private let chunkSize: Int
    private let bounded: Segment?
    /// The expanded messages of the last compressed legacy wrapper, returned
    /// one per call from `pendingIndex`; `wrapperDecoder`'s buffer holds their bytes.
    private var pending: LegacyMessages?
    private var pendingIndex = 0
    private lazy var wrapperDecoder = BatchDecoder()
    /// The offset after the last batch scanned (returned or skipped), which
    /// the next batch must not go below. Base offsets are outside the batch
    /// CRC, so this is what catches a damaged one instead of skipping records.
    private var scannedEnd: Int64?

    /// Positions a reader at `offset`, which must lie in [log start, log end];
    /// otherwise it throws `offsetOutOfRange` naming the valid range.
    /// `bounded` stops the reader at the end of that one segment.
    public init(
        partition: Partition, from offset: Int64, segments: [Segment]? = nil, bounded: Segment? = nil,
        chunkSize: Int = 1 << 20
    ) throws {
        self.partition = partition
        self.chunkSize = chunkSize
        self.bounded = bounded
        let segments = try segments ?? partition.segments()
        let start = try partition.logStartOffset(segments: segments)
        if offset < start {
            throw SluiceError.failure(
                .offsetOutOfRange, "offset \(offset) of partition \(partition.name) is before its log start \(start)",
                remedy: "read from \(start) or later (--from earliest)")
        }
        self.segments = segments
        nextOffset = offset
        (segmentIndex, startPosition) = try partition.locate(offset, in: segments)
        buffer = ByteBuffer(capacity: chunkSize)
    }

    /// The next entry at or after `nextOffset`, or nil at the readable end.
    public func next() throws -> Entry? {
        if let message = nextPending() { return .legacy(message) }
        var refreshed = false
        while true {
            let scanner = try currentScanner()
            switch try scanner.next() {
            case .batch(let batch):
                try checkContinuity(batch)
                guard batch.header.nextOffset > nextOffset else { continue }
                let from = nextOffset
                nextOffset = batch.header.nextOffset
                return .batch(batch, from: from)
            case .legacy(let legacy):
                let message = legacy.message
                // A wrapper's offset is its last inner message's.
                guard message.offset >= nextOffset else { continue }
                if message.compression != .none {
                    do {
                        pending = try wrapperDecoder.messages(of: message)
                    } catch {
                        throw corruption(error, at: legacy.position, offset: message.offset)
                    }
                    pendingIndex = 0
                    if let inner = nextPending() { return .legacy(inner) }
                    continue
                }
                nextOffset = message.offset + 1
                return .legacy(message)
            case .end:
                if try advance(refreshed: &refreshed) { continue }
                return nil
            case .problem(let problem):
                if try advance(refreshed: &refreshed, problem: problem) { continue }
                return nil
            }
        }
    }

    /// The records of a batch returned by `next()`, with decoding errors
    /// reported against this partition and segment.
    public func records(of batch: ScannedBatch, with decoder: BatchDecoder) throws -> CheckedRecords {
        do {
            return CheckedRecords(
                iterator: try decoder.records(of: batch.bytes, header: batch.header),
                context: (partition.name, segments[segmentIndex], batch.position, batch.header.baseOffset))
        } catch {
            throw corruption(error, at: batch.position, offset: batch.header.baseOffset)
        }
    }

    /// Offsets only grow; in a sluice partition (which has no compacted
    /// gaps) each batch starts where the previous one ended, or at its
    /// segment's base offset.
    private func checkContinuity(_ batch: ScannedBatch) throws {
        let base = batch.header.baseOffset
        let expected = batch.position == 0 ? max(scannedEnd ?? 0, segments[segmentIndex].baseOffset) : scannedEnd
        defer { scannedEnd = batch.header.nextOffset }
        guard let expected, base < expected || (partition.isWritable && base != expected) else { return }
        throw corruption(
            .invalid(base < expected ? "offsets go back: expected \(expected) or more" : "offsets \(expected)..<\(base) are missing"),
            at: batch.position, offset: base)
    }

    private func corruption(_ error: FormatError, at position: Int64, offset: Int64) -> SluiceError {
        .corruption(
            partition.name, segments[segmentIndex], ScanProblem(position: position, kind: .invalidEntry(error), claimedOffset: offset))
    }

    /// The next expanded wrapper message at or after `nextOffset`, if any is left.
    private func nextPending() -> LegacyMessage? {
        guard let pending else { return nil }
        while pendingIndex < pending.count {
            let message = pending[pendingIndex]
            pendingIndex += 1
            if message.offset >= nextOffset {
                nextOffset = message.offset + 1
                return message
            }
        }
        return nil
    }

    private func currentScanner() throws -> SegmentScanner {
        if let scanner { return scanner }
        let segment = segments[segmentIndex]
        let file: File
        do {
            file = try File.open(segment.logPath)
        } catch let error as SluiceError where error.reason == .notFound {
            throw deletedWhileReading()
        }
        file.adviseSequential()
        let made = SegmentScanner(file: file, limit: try file.size(), from: startPosition, buffer: buffer, chunkSize: chunkSize)
        scanner = made
        return made
    }

    /// At the end of what the scanner saw, or at a bad entry: moves on if the
    /// file grew, or a later segment exists; returns false at the readable end.
    /// A problem that is not a torn tail of the last segment throws.
    private func advance(refreshed: inout Bool, problem: ScanProblem? = nil) throws -> Bool {
        let scanner = self.scanner!
        if try scanner.file.size() > scanner.limit {
            reopen(at: scanner.position)
            return true
        }
        if segmentIndex < segments.count - 1, problem == nil {
            guard bounded == nil else { return false }
            if partition.currentLogStart(segments: segments) > nextOffset { throw deletedWhileReading() }
            segmentIndex += 1
            reopen(at: 0)
            return true
        }
        if !refreshed {
            refreshed = true
            let latest = try partition.segments()
            let current = segments[segmentIndex]
            if let position = latest.firstIndex(where: { $0.baseOffset == current.baseOffset }),
                try PendingAppend.replaced(current, by: latest[position], open: scanner.file)
            {
                // An import put its first segment in place of this empty one (or its stand-in).
                segments = latest
                segmentIndex = position
                reopen(at: scanner.position)
                return true
            }
            if let position = latest.firstIndex(of: current), position < latest.count - 1 {
                segments = latest
                segmentIndex = position
                if problem == nil { return try advance(refreshed: &refreshed) }
            } else if !latest.contains(current), let later = latest.firstIndex(where: { $0.baseOffset > current.baseOffset }) {
                // Retention deleted the segment being read once it was no longer the last.
                segments = [current] + latest[later...]
                segmentIndex = 0
                if problem == nil { return try advance(refreshed: &refreshed) }
            }
        }
        guard let problem else { return false }
        let isLast = segmentIndex == segments.count - 1
        if isLast, try problem.isTornTail(scanner: scanner) { return false }
        throw SluiceError.corruption(partition.name, segments[segmentIndex], problem)
    }

    /// The reader's position was deleted under it (retention or
    /// delete-records moved the log start past it): never read on as if
    /// nothing happened. Consumers catch it and apply their reset policy.
    private func deletedWhileReading() -> SluiceError {
        let start = (try? partition.segments()).map { partition.currentLogStart(segments: $0) }
        return SluiceError.failure(
            .offsetOutOfRange,
            """
            offset \(nextOffset) of partition \(partition.name) was deleted (by retention or \
            delete-records) while being read\(start.map { "; the log now starts at \($0)" } ?? "")
            """,
            remedy: "read again from the log start (--from earliest)")
    }

    private func reopen(at position: Int64) {
        scanner = nil
        startPosition = position
    }
}

/// A batch's records whose decoding errors name the partition, segment file,
/// byte position and offset.
public struct CheckedRecords {
    var iterator: RecordIterator
    let context: (partition: String, segment: Segment, position: Int64, offset: Int64)

    @inline(__always)
    public mutating func next() throws -> Record? {
        do {
            return try iterator.next()
        } catch {
            throw SluiceError.corruption(
                context.partition, context.segment,
                ScanProblem(position: context.position, kind: .invalidEntry(error), claimedOffset: context.offset))
        }
    }
}
