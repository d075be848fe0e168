import KafkaFormat
import SluiceCore
import SluiceSystem

/// Buffers that readers of many partitions share, one partition after
/// another (reading is single-threaded), so a report over thousands of
/// partitions allocates them once.
public final class ReadScratch {
    public let buffer = ByteBuffer(capacity: 64 << 10)
    /// Lazy: a report whose lookups never decode a batch never builds one.
    public lazy var decoder = BatchDecoder()

    public init() {}
}

/// The timestamps of the records at given offsets of one partition: the
/// reverse of `Partition.offset(forTimestamp:)`, which group lag reports
/// need. Its index and log files are opened once, so a lookup is a binary
/// search of the offset index plus one small read, and a call decodes each
/// batch at most once however many of the offsets fall in it.
public final class PartitionTimestamps {
    public let partition: Partition
    /// The log start offset (at most `end`).
    public let start: Int64
    /// The log end offset.
    public let end: Int64
    private let segments: [Segment]
    private let scratch: ReadScratch
    private var opened: [Int: (index: OffsetIndexFile?, log: File, size: Int64)] = [:]
    /// The offsets and timestamps of the last batch decoded.
    private var decoded: (base: Int64, next: Int64, offsets: [Int64], timestamps: [Int64])?

    public init(_ partition: Partition, scratch: ReadScratch) throws {
        self.partition = partition
        self.scratch = scratch
        segments = try partition.segments()
        let tail = try TailInspection.inspect(segments.last!, indexInterval: partition.config.indexIntervalBytes, buffer: scratch.buffer)
        end = tail.endOffset
        start = min(try partition.logStartOffset(segments: segments), tail.endOffset)
    }

    /// The timestamp of the first record at or after each offset (an offset
    /// before the log start counts as the log start); offsets at or past the
    /// end, or with no readable record after them, are absent. They are
    /// looked up in ascending order so no batch is decoded twice.
    public func timestamps(at offsets: Set<Int64>) throws -> [Int64: Int64] {
        var found: [Int64: Int64] = [:]
        for offset in offsets.sorted() { found[offset] = try timestamp(at: offset) }
        decoded = nil
        return found
    }

    /// The timestamp of the first record at or after `offset` (nil at the end).
    private func timestamp(at offset: Int64) throws -> Int64? {
        guard offset < end else { return nil }
        let target = max(offset, start)
        if let batch = decoded, batch.base <= target, target < batch.next, let i = batch.offsets.firstIndex(where: { $0 >= target }) {
            return batch.timestamps[i]
        }
        for i in Partition.segmentIndex(holding: target, in: segments)..<segments.count {
            if let found = try timestamp(at: target, in: i) { return found }
        }
        return nil
    }

    private func timestamp(at offset: Int64, in i: Int) throws -> Int64? {
        let segment = segments[i]
        let files = try files(i)
        let buffer = scratch.buffer, decoder = scratch.decoder
        var position: Int64 = 0
        if offset > segment.baseOffset, let index = files.index,
            let (_, entry) = try index.floorEntry(relativeOffset: Int32(clamping: offset - segment.baseOffset))
        {
            position = Int64(entry.position)
        }
        // An index entry names the batch ending at its offset; records at `offset` are in it or after it.
        for from in position > 0 ? [position, 0] : [0] {
            let scanner = SegmentScanner(file: files.log, limit: files.size, from: from, buffer: buffer, chunkSize: 16 << 10)
            scan: while true {
                switch try scanner.next() {
                case .batch(let batch):
                    if batch.header.baseOffset > offset && from > 0 { break scan }
                    guard batch.header.nextOffset > offset else { continue }
                    if batch.header.timestampType == .logAppendTime { return batch.header.maxTimestamp }
                    var records = try decoder.records(of: batch.bytes, header: batch.header)
                    var offsets: [Int64] = [], timestamps: [Int64] = []
                    offsets.reserveCapacity(Int(batch.header.recordsCount))
                    timestamps.reserveCapacity(Int(batch.header.recordsCount))
                    while let record = try records.next() {
                        offsets.append(record.offset)
                        timestamps.append(record.timestamp)
                    }
                    decoded = (batch.header.baseOffset, batch.header.nextOffset, offsets, timestamps)
                    if let i = offsets.firstIndex(where: { $0 >= offset }) { return timestamps[i] }
                case .legacy(let legacy):
                    if legacy.message.offset >= offset { return legacy.message.timestamp ?? -1 }
                case .problem, .end:
                    return nil
                }
            }
        }
        return nil
    }

    private func files(_ i: Int) throws -> (index: OffsetIndexFile?, log: File, size: Int64) {
        if let cached = opened[i] { return cached }
        let log = try File.open(segments[i].logPath)
        let files = (try OffsetIndexFile.open(segments[i].indexPath), log, try log.size())
        opened[i] = files
        return files
    }
}
