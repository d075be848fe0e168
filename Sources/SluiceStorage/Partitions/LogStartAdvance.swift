import KafkaFormat
import SluiceCore
import SluiceSystem

/// What advancing one partition's log start did (`delete-records`, `retention`).
public struct LogStartChange: Sendable {
    public struct DeletedSegment: Sendable {
        public var baseOffset: Int64
        /// Bytes of its `.log`, `.index` and `.timeindex` together.
        public var bytes: Int64
    }

    public var partition: String
    public var previousStart: Int64
    public var newStart: Int64
    public var deleted: [DeletedSegment]

    public var freedBytes: Int64 { deleted.reduce(0) { $0 + $1.bytes } }
}

/// Moving a partition's log start forward, as Kafka's DeleteRecords and log
/// retention do: the new start is recorded in the data directory's
/// `log-start-offset-checkpoint` (Kafka's own file and format), then the
/// segments wholly below it are unlinked, oldest first, never the active one.
///
/// Crash safety: the checkpoint is replaced atomically before anything is
/// unlinked, so a killed run leaves either the old start or the new one, and
/// segments below the recorded start are what the next run removes; unlinking
/// oldest first never leaves a hole. When the disk is too full to write the
/// checkpoint, the segments below the new start are unlinked first (a
/// consistent prefix cut whatever happens next) and the checkpoint follows
/// in the space they freed — freeing space must work on a full disk.
///
/// Readers take no lock: one with a deleted segment open keeps reading it
/// (POSIX unlink semantics); one that reaches a deleted segment, or a
/// segment boundary below the new start, gets `offsetOutOfRange`.
extension DataDirectory {
    public static let logStartCheckpointName = "log-start-offset-checkpoint"

    var logStartLockPath: String { metaPath + "/log-start.lock" }

    func readLogStartCheckpoint() throws -> [TopicPartition: Int64] {
        try OffsetCheckpointFile.read(logStartCheckpointPath)
    }

    /// Edits the recorded log starts and
    /// replaces the checkpoint atomically when they changed.
    func updateLogStarts(_ edit: (inout [TopicPartition: Int64]) -> Void) throws {
        try requireWritable("record log start offsets")
        let lock = try FileLock.acquire(logStartLockPath, what: "the log start checkpoint of \(path)")
        defer { lock.release() }
        var entries = try readLogStartCheckpoint()
        let before = entries
        edit(&entries)
        if entries != before {
            try FileSystem.writeAtomically(logStartCheckpointPath, OffsetCheckpointFile.encode(entries))
        }
        recordedLogStarts = entries
    }

    /// Drops a topic's recorded log starts, so a topic created under the
    /// name of a deleted one does not inherit them.
    func forgetLogStarts(of topic: String) throws {
        guard try FileSystem.exists(logStartCheckpointPath) else { return }
        try updateLogStarts { entries in
            entries = entries.filter { $0.key.topic != topic }
        }
    }

    /// Advances `partition`'s log start to `offset` (a start already beyond
    /// it stays) and deletes the segments wholly below it, holding the
    /// partition's lock. `offset` may be at most the log end.
    @discardableResult
    public func advanceLogStart(of partition: Partition, to offset: Int64) throws -> LogStartChange {
        try requireWritable("delete records of partition \(partition.name)")
        let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
        defer { lock.release() }
        try PendingAppend.settle(partition)
        let segments = try partition.segments()
        let (start, end) = try partition.currentOffsetRange(segments: segments)
        guard offset <= end else {
            throw SluiceError.usage(
                .offsetOutOfRange, "cannot move the log start of partition \(partition.name) to \(offset): its log ends at \(end)",
                remedy: "give an offset from \(start) to \(end)")
        }
        let target = max(offset, start)
        var doomed = 0
        while doomed < segments.count - 1 && segments[doomed + 1].baseOffset <= target { doomed += 1 }
        var change = LogStartChange(partition: partition.name, previousStart: start, newStart: target, deleted: [])
        if target > start {
            do {
                try updateLogStarts { Self.raise(&$0, partition.key, to: target) }
            } catch let error as SluiceError where error.reason == .noSpace && doomed > 0 {
                change.deleted = try Self.removeSegments(segments[..<doomed], of: partition)
                try updateLogStarts { Self.raise(&$0, partition.key, to: target) }
            }
        }
        if change.deleted.isEmpty && doomed > 0 {
            change.deleted = try Self.removeSegments(segments[..<doomed], of: partition)
        }
        try Self.removeOrphanedIndexes(below: segments[doomed].baseOffset, in: partition.directory)
        return change
    }

    /// Never moves a log start back, whatever `start` was read as: records
    /// another process deleted must not reappear.
    private static func raise(_ entries: inout [TopicPartition: Int64], _ key: TopicPartition, to target: Int64) {
        entries[key] = max(entries[key] ?? target, target)
    }

    /// Unlinks segments, oldest first, then syncs the directory.
    static func removeSegments(_ segments: ArraySlice<Segment>, of partition: Partition) throws -> [LogStartChange.DeletedSegment] {
        let deleted = try segments.map { LogStartChange.DeletedSegment(baseOffset: $0.baseOffset, bytes: try $0.remove()) }
        try FileSystem.syncDirectory(partition.directory)
        return deleted
    }

    /// Removes the index files of segments whose `.log` is gone (what a run
    /// killed between unlinks leaves), below the first segment.
    private static func removeOrphanedIndexes(below firstBase: Int64, in directory: String) throws {
        for name in try FileSystem.list(directory) {
            let suffixes = [SegmentFileName.indexSuffix, SegmentFileName.timeIndexSuffix]
            guard let base = suffixes.lazy.compactMap({ SegmentFileName.baseOffset(of: name, suffix: $0) }).first,
                base < firstBase
            else { continue }
            try FileSystem.removeFile(directory + "/" + name)
        }
    }
}

extension Partition {
    /// The log start as recorded now, re-reading the checkpoint: a reader
    /// that started before a `delete-records` learns of it here. A checkpoint
    /// that does not read falls back to the value read at opening.
    public func currentLogStart(segments: [Segment]) -> Int64 {
        let first = segments.first!.baseOffset
        let checkpoint = FileSystem.parent(of: directory) + "/" + DataDirectory.logStartCheckpointName
        let recorded = (try? OffsetCheckpointFile.read(checkpoint)).map { $0[key] } ?? recordedLogStart
        return max(first, recorded ?? first)
    }

    /// The offset range as of now: `currentLogStart` (never past the end) to the log end.
    public func currentOffsetRange(segments: [Segment]) throws -> (start: Int64, end: Int64) {
        let end = try tail(segments: segments).endOffset
        return (min(currentLogStart(segments: segments), end), end)
    }
}
