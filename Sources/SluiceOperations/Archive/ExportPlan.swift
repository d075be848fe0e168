import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem

/// Which records an export takes. Offsets and times select, per partition,
/// the offset range [from, to): `toOffset` and `until` are exclusive, and
/// times resolve through the time index as Kafka's offsetsForTimes does
/// (the first offset whose timestamp is at or after the time).
public struct ExportRequest: Sendable {
    /// Partitions to export; empty means all.
    public var partitions: [Int] = []
    public var fromOffset: Int64?
    public var toOffset: Int64?
    public var since: Int64?
    public var until: Int64?
    /// Export only this group's backlog: from its committed offset to the end.
    public var backlogOfGroup: String?
    /// Record every group's committed offsets in the manifest.
    public var withGroups = false

    public init() {}
}

/// A batch that a range boundary cuts: re-encoded with only the records in
/// `keep`. The encoding is deterministic, so the plan records its size and
/// the export encodes it again when it streams.
struct CutBatch {
    let keep: Range<Int64>
    let encodedSize: Int
}

/// One archived file: a segment, or the part of it in range.
struct FilePiece {
    let segment: Segment
    /// The file's name offset: the segment's base, or the range start for the first file.
    let baseOffset: Int64
    let head: CutBatch?
    /// Bytes copied as they are.
    let raw: Range<Int64>
    let tail: CutBatch?

    var bytes: Int64 { Int64(head?.encodedSize ?? 0) + raw.upperBound - raw.lowerBound + Int64(tail?.encodedSize ?? 0) }
}

public struct PartitionPlan {
    public let partition: Partition
    public let startOffset: Int64
    public let endOffset: Int64
    let pieces: [FilePiece]

    public var bytes: Int64 { pieces.reduce(0) { $0 + $1.bytes } }
    public var files: Int { pieces.count }
}

/// What an export will write: resolved per partition before the first byte,
/// so the manifest can list every file with its exact size. Planning reads a
/// few KiB per partition: two index lookups, and the batches at the ends of
/// the range, which are re-encoded when cut.
public struct ExportPlan {
    public let topic: Topic
    public let filters: ArchiveFilters
    public let partitions: [PartitionPlan]
    public let groups: [String: [Int: Int64]]?

    public var bytes: Int64 { partitions.reduce(0) { $0 + $1.bytes } }

    public static func make(_ topic: Topic, _ request: ExportRequest, groups store: GroupOffsetStore? = nil) throws -> ExportPlan {
        let indices = request.partitions.isEmpty ? topic.partitionIndices : request.partitions
        var committed: [String: [Int: Int64]] = [:]
        if request.withGroups || request.backlogOfGroup != nil {
            guard let store else {
                throw SluiceError.usage(.invalidArgument, "consumer-group offsets are not available to export")
            }
            committed = try store.committedOffsets(topic: topic.name)
        }
        var backlog: [Int: Int64] = [:]
        if let group = request.backlogOfGroup {
            guard let offsets = committed[group] else {
                throw SluiceError.failure(
                    .invalidArgument, "group '\(group.printable)' has no committed offsets on topic '\(topic.name)'",
                    remedy: "list groups with 'sluice group list'")
            }
            backlog = offsets
        }
        let planner = Planner(request: request)
        var partitions: [PartitionPlan] = []
        for index in Set(indices).sorted() {
            partitions.append(try planner.plan(try topic.partition(index), from: backlog[index]))
        }
        // Offsets are recorded for the exported partitions only, clamped into
        // the archived range (what a consumer whose offset is out of range
        // would get with auto.offset.reset=earliest).
        let selected = request.withGroups ? committed : request.backlogOfGroup.map { [$0: backlog] }
        let groups = selected?.mapValues { offsets in
            Dictionary(
                uniqueKeysWithValues: partitions.compactMap { plan in
                    offsets[plan.partition.index].map { (plan.partition.index, min(max($0, plan.startOffset), plan.endOffset)) }
                })
        }
        let filters = ArchiveFilters(
            partitions: request.partitions.isEmpty ? nil : Set(request.partitions).sorted(),
            fromOffset: request.fromOffset, toOffset: request.toOffset,
            since: request.since, until: request.until, group: request.backlogOfGroup)
        return ExportPlan(topic: topic, filters: filters, partitions: partitions, groups: groups)
    }
}

/// Resolves one partition's range and the byte ranges of its files.
private struct Planner {
    let request: ExportRequest
    let cutter = BatchCutter()

    struct Entry {
        let position: Int64
        let size: Int
        let baseOffset: Int64
        let nextOffset: Int64
    }

    func plan(_ partition: Partition, from backlogStart: Int64?) throws -> PartitionPlan {
        let segments = try partition.segments()
        let tail = try partition.tail(segments: segments)
        let logStart = min(try partition.logStartOffset(segments: segments), tail.endOffset)
        let logEnd = tail.endOffset
        var start = max(logStart, request.fromOffset ?? logStart, backlogStart ?? logStart)
        var end = min(logEnd, request.toOffset ?? logEnd)
        if let since = request.since { start = max(start, try partition.offset(forTimestamp: since) ?? logEnd) }
        if let until = request.until { end = min(end, try partition.offset(forTimestamp: until) ?? logEnd) }
        start = min(start, logEnd)
        end = max(end, start)
        var pieces: [FilePiece] = []
        if end > start {
            for (i, segment) in segments.enumerated() {
                let isLast = i == segments.count - 1
                let segmentEnd = isLast ? logEnd : segments[i + 1].baseOffset
                guard segment.baseOffset < end else { break }
                guard segmentEnd > start else { continue }
                let limit = isLast ? tail.validSize : try FileSystem.fileSize(segment.logPath) ?? 0
                let base = pieces.isEmpty ? start : segment.baseOffset
                if let piece = try self.piece(
                    partition, segments, i, limit: limit, start: start, end: end, segmentEnd: segmentEnd, base: base)
                {
                    pieces.append(piece)
                }
            }
        }
        return PartitionPlan(partition: partition, startOffset: start, endOffset: end, pieces: pieces)
    }

    /// The part of segment `i` holding offsets in [start, end), nil if none.
    private func piece(
        _ partition: Partition, _ segments: [Segment], _ i: Int, limit: Int64, start: Int64, end: Int64,
        segmentEnd: Int64, base: Int64
    ) throws -> FilePiece? {
        let segment = segments[i]
        let log = try File.open(segment.logPath)
        func position(of offset: Int64) throws -> Int64 {
            guard offset > segment.baseOffset else { return 0 }
            let located = try partition.locate(offset, in: segments)
            return located.segment == i ? located.position : 0
        }
        guard let first = try firstEntry(partition, segment, log, limit: limit, from: try position(of: start), after: start),
            first.baseOffset < end
        else { return nil }
        var head: CutBatch?
        var rawStart = first.position
        if first.baseOffset < start {
            head = try cut(partition, segments, segment, start..<min(end, first.nextOffset))
            rawStart = first.position + Int64(first.size)
            if first.nextOffset >= end {
                return head.map { FilePiece(segment: segment, baseOffset: base, head: $0, raw: rawStart..<rawStart, tail: nil) }
            }
        }
        var tail: CutBatch?
        var rawEnd = limit
        if end < segmentEnd {
            let from = max(try position(of: end - 1), rawStart)
            if let last = try firstEntry(partition, segment, log, limit: limit, from: from, after: end - 1) {
                if last.baseOffset >= end {
                    rawEnd = last.position
                } else if last.nextOffset > end {
                    rawEnd = last.position
                    tail = try cut(partition, segments, segment, max(last.baseOffset, start)..<end)
                } else {
                    rawEnd = last.position + Int64(last.size)
                }
            }
        }
        let piece = FilePiece(segment: segment, baseOffset: base, head: head, raw: rawStart..<max(rawStart, rawEnd), tail: tail)
        return piece.bytes > 0 ? piece : nil
    }

    /// The first entry at or after `position` holding an offset above `offset`.
    private func firstEntry(
        _ partition: Partition, _ segment: Segment, _ log: File, limit: Int64, from position: Int64,
        after offset: Int64
    ) throws -> Entry? {
        let scanner = SegmentScanner(file: log, limit: limit, from: position, buffer: ByteBuffer(capacity: 64 << 10), chunkSize: 64 << 10)
        while true {
            switch try scanner.next() {
            case .batch(let batch):
                guard batch.header.nextOffset > offset else { continue }
                return Entry(
                    position: batch.position, size: batch.bytes.count, baseOffset: batch.header.baseOffset,
                    nextOffset: batch.header.nextOffset)
            case .legacy(let legacy):
                let message = legacy.message
                guard message.offset >= offset + 1 else { continue }
                return Entry(
                    position: legacy.position, size: legacy.bytes.count, baseOffset: message.offset,
                    nextOffset: message.offset + 1)
            case .problem(let problem):
                throw SluiceError.corruption(partition.name, segment, problem)
            case .end:
                return nil
            }
        }
    }

    private func cut(_ partition: Partition, _ segments: [Segment], _ segment: Segment, _ keep: Range<Int64>) throws -> CutBatch? {
        let out = ByteBuffer()
        guard try cutter.encode(partition, segments, segment, keep: keep, into: out) else { return nil }
        return CutBatch(keep: keep, encodedSize: out.count)
    }
}

/// Re-encodes a batch with only the records whose offsets are in a range,
/// keeping the records' offsets, timestamps, keys, values and headers and the
/// batch's attributes and producer fields (its base sequence moves with its
/// first record, as the producer would have numbered it). The codec is kept
/// when sluice can write it (none, zstd); gzip, snappy and lz4 batches are
/// re-encoded with zstd.
final class BatchCutter {
    private let decoder = BatchDecoder()
    private var builders: [CompressionCodec: RecordBatchBuilder] = [:]

    /// Appends the cut of the batch holding `keep.lowerBound` to `out`; false
    /// when none of its records is in range.
    func encode(_ partition: Partition, _ segments: [Segment], _ segment: Segment, keep: Range<Int64>, into out: ByteBuffer) throws -> Bool
    {
        let reader = try PartitionReader(
            partition: partition, from: keep.lowerBound, segments: segments, bounded: segment, chunkSize: 64 << 10)
        guard case .batch(let batch, _)? = try reader.next() else {
            throw SluiceError.failure(.io, "partition \(partition.name) changed while being exported (offset \(keep.lowerBound) is gone)")
        }
        let header = batch.header
        let codec = CompressionCodec.writable(header.compression ?? .none)
        let builder = builders[codec] ?? RecordBatchBuilder(codec: codec)
        builders[codec] = builder
        var records = try reader.records(of: batch, with: decoder)
        var newBase: Int64?
        while let record = try records.next() {
            guard keep.contains(record.offset) else { continue }
            if newBase == nil { newBase = record.offset }
            builder.append(
                offsetDelta: Int32(record.offset - newBase!), timestamp: record.timestamp, key: record.key, value: record.value,
                headerCount: record.headerCount, encodedHeaders: record.encodedHeaders)
        }
        guard let newBase else { return false }
        var template = header
        if template.baseSequence >= 0 {
            template.baseSequence = template.baseSequence &+ Int32(truncatingIfNeeded: newBase - header.baseOffset)
        }
        try builder.finish(baseOffset: newBase, into: out, template: template)
        return true
    }
}

extension CompressionCodec {
    /// The codec sluice writes for records that came in `self`: itself when
    /// sluice can write it (none, zstd), zstd otherwise.
    static func writable(_ codec: CompressionCodec) -> CompressionCodec { codec == .none ? .none : .zstd }
}
