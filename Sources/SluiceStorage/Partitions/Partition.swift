import KafkaFormat
import SluiceCore
import SluiceStore
import SluiceSystem

/// One partition directory `<topic>-<N>/`: a run of segments. This is the
/// lock-free read side; `PartitionAppender` writes and `PartitionReader` streams.
public final class Partition: @unchecked Sendable {
    public let topic: String
    public let index: Int
    public let directory: String
    public let config: TopicConfig
    public let isWritable: Bool
    /// A log start offset recorded beyond the first segment's base (delete-records,
    /// or Kafka's `log-start-offset-checkpoint`).
    public let recordedLogStart: Int64?

    public init(topic: String, index: Int, directory: String, config: TopicConfig, isWritable: Bool, recordedLogStart: Int64? = nil) {
        self.topic = topic
        self.index = index
        self.directory = directory
        self.config = config
        self.isWritable = isWritable
        self.recordedLogStart = recordedLogStart
    }

    /// `topic-N`, the name used in messages and directory names.
    public var key: TopicPartition { TopicPartition(topic, index) }
    public var name: String { key.description }

    /// The segments, oldest first, without those of an uncommitted import
    /// (`PendingAppend`). A partition always has at least one.
    public func segments() throws -> [Segment] {
        let segments: [Segment]
        do {
            segments = try PendingAppend.visibleSegments(try Segment.list(in: directory), partitionDirectory: directory)
        } catch let error as SluiceError where error.reason == .notFound {
            throw SluiceError.failure(
                .partitionMissing, "partition \(name) has no directory at \(directory)",
                remedy: "the topic may have been deleted; run 'sluice verify \(topic)'")
        }
        guard !segments.isEmpty else {
            throw SluiceError.failure(
                .partitionMissing, "partition \(name) has no segments in \(directory)",
                remedy: "run 'sluice verify \(topic)'")
        }
        return segments
    }

    /// The state of the last segment's tail.
    public func tail(segments: [Segment]? = nil) throws -> TailInspection {
        try TailInspection.inspect(try (segments ?? self.segments()).last!, indexInterval: config.indexIntervalBytes)
    }

    /// The first offset a reader can fetch.
    public func logStartOffset(segments: [Segment]? = nil) throws -> Int64 {
        let first = try (segments ?? self.segments()).first!.baseOffset
        return max(first, recordedLogStart ?? first)
    }

    /// The offset the next appended record will get (Kafka's log-end offset).
    public func endOffset() throws -> Int64 { try tail().endOffset }

    /// Log start and end in one listing.
    public func offsetRange() throws -> (start: Int64, end: Int64) {
        let segments = try self.segments()
        let end = try tail(segments: segments).endOffset
        return (min(try logStartOffset(segments: segments), end), end)
    }

    /// Where to start reading for `offset`: the segment holding it and the
    /// position of a batch at or before it, from the offset index (O(log n)).
    public func locate(_ offset: Int64, in segments: [Segment]) throws -> (segment: Int, position: Int64) {
        let chosen = Self.segmentIndex(holding: offset, in: segments)
        let segment = segments[chosen]
        guard offset > segment.baseOffset, let index = try OffsetIndexFile.open(segment.indexPath),
            let (_, entry) = try index.floorEntry(relativeOffset: Int32(clamping: offset - segment.baseOffset))
        else {
            return (chosen, 0)
        }
        let log = try File.open(segment.logPath)
        guard try TailInspection.entryMatches(entry, log: log, fileSize: try log.size(), baseOffset: segment.baseOffset) else {
            Diagnostics.warn(
                """
                the offset index of partition \(name) segment \(segment.logName) is inconsistent \
                with its log; reading from the segment start (run 'sluice verify --repair \(topic)')
                """
            )
            return (chosen, 0)
        }
        return (chosen, Int64(entry.position))
    }

    /// The last segment whose base offset is at most `offset` (the first if none is).
    static func segmentIndex(holding offset: Int64, in segments: [Segment]) -> Int {
        segments.lastIndex(atOrBefore: offset, by: { $0.baseOffset }) ?? 0
    }

    /// The earliest offset whose record timestamp is at or after `timestamp`
    /// (Kafka's ListOffsets by time), or nil if every record is older. Finds
    /// the segment by its largest timestamp, then searches its time index, so
    /// the cost grows with the log's size only logarithmically.
    public func offset(forTimestamp timestamp: Int64) throws -> Int64? {
        let segments = try self.segments()
        let start = try logStartOffset(segments: segments)
        for (i, segment) in segments.enumerated() {
            let largest = i == segments.count - 1 ? try tail(segments: segments).maxTimestamp : try largestTimestamp(of: segment)
            guard largest >= timestamp else { continue }
            let timeIndex = try TimeIndexFile.open(segment.timeIndexPath)
            let from =
                try timeIndex?.lastEntry(before: timestamp).map { segment.baseOffset + Int64($0.relativeOffset) } ?? segment.baseOffset
            if let found = try firstOffset(atOrAfter: timestamp, in: segment, from: max(from, start), segments: segments) {
                return max(found, start)
            }
        }
        return nil
    }

    /// The largest timestamp in a sealed segment: its time index's final entry,
    /// or a scan when the index is missing or empty.
    public func largestTimestamp(of segment: Segment) throws -> Int64 {
        if let index = try TimeIndexFile.open(segment.timeIndexPath), let last = try index.lastEntry {
            return last.timestamp
        }
        return try TailInspection.inspect(segment, indexInterval: config.indexIntervalBytes).maxTimestamp
    }

    private func firstOffset(atOrAfter timestamp: Int64, in segment: Segment, from offset: Int64, segments: [Segment]) throws -> Int64? {
        let reader = try PartitionReader(partition: self, from: offset, segments: segments, bounded: segment)
        let decoder = BatchDecoder()
        while let entry = try reader.next() {
            switch entry {
            case .batch(let batch, _):
                guard batch.header.maxTimestamp >= timestamp else { continue }
                var records = try reader.records(of: batch, with: decoder)
                while let record = try records.next() {
                    if record.offset >= offset && record.timestamp >= timestamp { return record.offset }
                }
            case .legacy(let message):
                if (message.timestamp ?? -1) >= timestamp && message.offset >= offset { return message.offset }
            }
        }
        return nil
    }
}

extension Partition {
    public func summary() throws -> PartitionSummary {
        let segments = try self.segments()
        let tail = try self.tail(segments: segments)
        let (start, _, bytes) = try extent(segments, tail)
        return PartitionSummary(
            partition: index, logStartOffset: start, endOffset: tail.endOffset, bytes: bytes, segments: segments.count,
            oldestTimestamp: try oldestTimestamp(segments: segments, start: start, end: tail.endOffset),
            newestTimestamp: tail.endOffset > start ? newest(tail, segments) : nil,
            tailProblem: tail.problem.map { "\($0)\(tail.problemIsTorn ? " (a torn write; the next writer truncates it)" : "")" })
    }

    /// The offset range and the bytes of the log: the part of `summary()`
    /// that reads no record (planning a copy needs nothing more).
    public func extent() throws -> (start: Int64, end: Int64, bytes: Int64) {
        let segments = try self.segments()
        return try extent(segments, try tail(segments: segments))
    }

    private func extent(_ segments: [Segment], _ tail: TailInspection) throws -> (start: Int64, end: Int64, bytes: Int64) {
        var bytes: Int64 = 0
        for segment in segments { bytes += try FileSystem.fileSize(segment.logPath) ?? 0 }
        return (min(try logStartOffset(segments: segments), tail.endOffset), tail.endOffset, bytes)
    }

    private func newest(_ tail: TailInspection, _ segments: [Segment]) -> Int64? {
        if tail.maxTimestamp >= 0 { return tail.maxTimestamp }
        // The last segment is empty (just rolled): the previous one's maximum.
        guard segments.count >= 2 else { return nil }
        return try? largestTimestamp(of: segments[segments.count - 2])
    }

    /// The timestamp of the first readable record (one batch header read).
    private func oldestTimestamp(segments: [Segment], start: Int64, end: Int64) throws -> Int64? {
        guard end > start else { return nil }
        let reader = try PartitionReader(partition: self, from: start, segments: segments)
        switch try reader.next() {
        case .batch(let batch, _)?:
            return batch.header.timestampType == .logAppendTime ? batch.header.maxTimestamp : batch.header.baseTimestamp
        case .legacy(let message)?:
            return message.timestamp
        case nil:
            return nil
        }
    }
}
