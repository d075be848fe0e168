import SluiceCore
import SluiceStorage
import SluiceSystem

/// Kafka's log retention rules (`UnifiedLog.deleteOldSegments`), applied in
/// Kafka's order to a partition's segments, oldest first. Each rule deletes
/// a run of the oldest remaining segments and stops at the first it spares;
/// the last (active) segment is never deleted.
///
/// 1. log start: segments wholly below the recorded log start (what a
///    killed delete-records left);
/// 2. `retention.bytes`: while the partition's log is larger than the limit
///    by at least the oldest segment's size, that segment goes;
/// 3. `retention.ms`: while the oldest segment's largest timestamp is older
///    than now minus `retention.ms`, it goes (a segment without timestamps
///    counts by its file's modification time, as Kafka does).
public enum RetentionPolicy {
    public enum Rule: String, Sendable {
        case logStart = "log-start"
        case retentionBytes = "retention.bytes"
        case retentionMs = "retention.ms"
    }

    /// What the rules need to know of a segment; the largest timestamp is
    /// asked for only while the time rule runs.
    public struct SegmentFacts {
        public var baseOffset: Int64
        public var logBytes: Int64
        public var largestTimestamp: () throws -> Int64

        public init(baseOffset: Int64, logBytes: Int64, largestTimestamp: @escaping () throws -> Int64) {
            self.baseOffset = baseOffset
            self.logBytes = logBytes
            self.largestTimestamp = largestTimestamp
        }
    }

    /// The rule that deletes each of the oldest segments, in order; the
    /// segments after them stay.
    public static func deletions(
        _ segments: [SegmentFacts], logStart: Int64, retentionBytes: Int64, retentionMs: Int64,
        now: Int64
    ) throws -> [Rule] {
        var rules: [Rule] = []
        let deletable = segments.count - 1
        while rules.count < deletable && segments[rules.count + 1].baseOffset <= logStart { rules.append(.logStart) }
        if retentionBytes >= 0 {
            var excess = segments.reduce(0) { $0 + $1.logBytes } - segments[..<rules.count].reduce(0) { $0 + $1.logBytes } - retentionBytes
            while rules.count < deletable && excess - segments[rules.count].logBytes >= 0 {
                excess -= segments[rules.count].logBytes
                rules.append(.retentionBytes)
            }
        }
        if retentionMs >= 0 {
            while rules.count < deletable, now.subtractingSaturated(try segments[rules.count].largestTimestamp()) > retentionMs {
                rules.append(.retentionMs)
            }
        }
        return rules
    }

    /// The facts of a partition's segments, read lazily.
    public static func facts(of partition: Partition, _ segments: [Segment]) throws -> [SegmentFacts] {
        try segments.map { segment in
            SegmentFacts(baseOffset: segment.baseOffset, logBytes: try FileSystem.fileSize(segment.logPath) ?? 0) {
                let largest = try partition.largestTimestamp(of: segment)
                if largest >= 0 { return largest }
                let modified = try File.open(segment.logPath).status().st_mtim
                return Int64(modified.tv_sec) * 1000 + Int64(modified.tv_nsec) / 1_000_000
            }
        }
    }
}
