import KafkaFormat
import SluiceCore
import SluiceSystem

/// Builds segments (log, offset index, time index) in a directory nobody
/// reads yet, from entries that may arrive in pieces: what an import stages.
/// Index entries follow Kafka's rule (`SegmentIndexer`) and every segment but
/// the last is sealed, so the files are exactly what the appender would have
/// written. `finish` makes everything durable.
///
/// Two layouts: `.asGiven` keeps offsets and starts a segment wherever the
/// caller says (`startSegment`, one per archived segment); `.reoffset` gives
/// the entries consecutive offsets from a first offset and rolls segments by
/// the topic's rules, as appending them would.
public final class SegmentBuilder {
    public enum Layout: Sendable {
        case asGiven
        case reoffset(from: Int64)
    }

    public let directory: String
    private let config: TopicConfig
    private let layout: Layout
    public private(set) var segments: [Segment] = []
    /// The offset after the last entry so far.
    public private(set) var nextOffset: Int64
    private var open: OpenSegment?
    private let pending: ByteBuffer
    private let writeThreshold: Int

    private final class OpenSegment {
        let segment: Segment
        let log: File
        let index: File
        let timeIndex: File
        var indexer: SegmentIndexer
        var size: Int64 = 0
        var flushed: Int64 = 0
        var indexSize: Int64 = 0
        var timeIndexSize: Int64 = 0
        var firstBatchMaxTimestamp: Int64?
        let offsetEntries = ByteBuffer(capacity: 4096)
        let timeEntries = ByteBuffer(capacity: 4096)

        init(_ segment: Segment, interval: Int64) throws {
            self.segment = segment
            log = try File.create(segment.logPath, access: .writeOnly)
            index = try File.create(segment.indexPath, access: .writeOnly)
            timeIndex = try File.create(segment.timeIndexPath, access: .writeOnly)
            indexer = SegmentIndexer(baseOffset: segment.baseOffset, interval: interval)
        }
    }

    /// `writeBuffer` bytes of log are gathered per write: large for a few
    /// partitions, small when re-partitioning spreads records over many.
    public init(directory: String, config: TopicConfig, layout: Layout, writeBuffer: Int = 1 << 20) {
        self.directory = directory
        self.config = config
        self.layout = layout
        self.writeThreshold = writeBuffer
        pending = ByteBuffer(capacity: writeBuffer + RecordBatchHeader.size)
        if case .reoffset(let first) = layout { nextOffset = first } else { nextOffset = 0 }
    }

    /// Closes (and seals) the current segment and starts one at `baseOffset`
    /// (`.asGiven` layout).
    public func startSegment(baseOffset: Int64) throws {
        try close(sealed: true)
        open = try OpenSegment(Segment(directory: directory, baseOffset: baseOffset), interval: config.indexIntervalBytes)
        segments.append(open!.segment)
        nextOffset = max(nextOffset, baseOffset)
    }

    /// Starts an entry from its first bytes: a v2 batch's 61-byte header, or a
    /// whole legacy entry. The rest of a batch follows through `append`.
    /// Returns the entry's base offset as written.
    @discardableResult
    public func begin(header: UnsafeRawBufferPointer, lastOffsetDelta: Int32, maxTimestamp: Int64, totalSize: Int) throws -> Int64 {
        var probe = RecordBatchHeader()
        probe.batchLength = Int32(totalSize - RecordBatchHeader.logOverhead)
        probe.lastOffsetDelta = lastOffsetDelta
        probe.maxTimestamp = maxTimestamp
        let base: Int64
        if case .reoffset = layout {
            base = nextOffset
            if open == nil
                || SegmentRoll.isDue(
                    size: open!.size, firstBatchMaxTimestamp: open!.firstBatchMaxTimestamp,
                    baseOffset: open!.segment.baseOffset, nextOffset: base, before: probe, config: config)
            {
                try close(sealed: true)
                open = try OpenSegment(Segment(directory: directory, baseOffset: base), interval: config.indexIntervalBytes)
                segments.append(open!.segment)
            }
        } else {
            base = header.loadBigEndian(at: 0, as: Int64.self)
        }
        let segment = open!
        let earned = segment.indexer.observe(position: segment.size, lastOffset: base + Int64(lastOffsetDelta), maxTimestamp: maxTimestamp)
        earned.offset?.append(to: segment.offsetEntries)
        earned.time?.append(to: segment.timeEntries)
        if segment.firstBatchMaxTimestamp == nil { segment.firstBatchMaxTimestamp = maxTimestamp }
        let at = pending.count
        pending.append(header)
        pending.storeBigEndian(base, at: at)
        segment.size += Int64(header.count)
        if pending.count >= writeThreshold { try flush(segment) }
        nextOffset = base + Int64(lastOffsetDelta) + 1
        return base
    }

    /// Appends bytes of the entry in progress.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        let segment = open!
        pending.append(bytes)
        segment.size += Int64(bytes.count)
        if pending.count >= writeThreshold { try flush(segment) }
    }

    /// Appends one complete v2 batch.
    public func appendBatch(_ batch: UnsafeRawBufferPointer) throws {
        let header = RecordBatchHeader(batch.baseAddress!)
        try begin(
            header: UnsafeRawBufferPointer(rebasing: batch[..<RecordBatchHeader.size]),
            lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: header.maxTimestamp, totalSize: header.totalSize)
        try append(UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size...]))
    }

    /// Closes the last segment (not sealed: it is the active one), makes every
    /// file durable, and returns the segments.
    public func finish() throws -> [Segment] {
        try close(sealed: false)
        try FileSystem.syncDirectory(directory)
        return segments
    }

    private func flush(_ segment: OpenSegment) throws {
        if !pending.isEmpty {
            try segment.log.write(pending.bytes, at: segment.flushed)
            segment.flushed += Int64(pending.count)
            pending.clear()
        }
        try flushEntries(segment.offsetEntries, to: segment.index, at: &segment.indexSize)
        try flushEntries(segment.timeEntries, to: segment.timeIndex, at: &segment.timeIndexSize)
    }

    private func flushEntries(_ entries: ByteBuffer, to file: File, at size: inout Int64) throws {
        guard !entries.isEmpty else { return }
        try file.write(entries.bytes, at: size)
        size += Int64(entries.count)
        entries.clear()
    }

    private func close(sealed: Bool) throws {
        guard let segment = open else { return }
        if sealed, let final = segment.indexer.finalTimeEntry() { final.append(to: segment.timeEntries) }
        try flush(segment)
        for file in [segment.log, segment.index, segment.timeIndex] {
            try file.dataSync()
            try file.close()
        }
        open = nil
    }

    /// Shifts every entry's offset in `segments` by `delta`, in place (the
    /// base offset is outside the CRC; index entries are relative to the
    /// segment's base, which moves with them). The caller renames the files.
    public static func reoffset(_ segments: [Segment], by delta: Int64) throws {
        guard delta != 0 else { return }
        var frame = [UInt8](repeating: 0, count: RecordBatchHeader.logOverhead)
        for segment in segments {
            let log = try File.open(segment.logPath, .readWrite)
            let size = try log.size()
            var position: Int64 = 0
            while position < size {
                guard try frame.withUnsafeMutableBytes({ try log.readFully(into: $0, at: position) }) == frame.count else { break }
                let (offset, length) = frame.withUnsafeBytes {
                    ($0.loadBigEndian(at: 0, as: Int64.self), $0.loadBigEndian(at: 8, as: Int32.self))
                }
                var shifted = (offset + delta).bigEndian
                try withUnsafeBytes(of: &shifted) { try log.write($0, at: position) }
                position += Int64(RecordBatchHeader.logOverhead) + Int64(length)
            }
            try log.dataSync()
            try log.close()
        }
    }
}
