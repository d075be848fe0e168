import KafkaFormat
import SluiceCore
import SluiceSystem

/// Appending staged segments to several partitions so that all of them
/// become visible at one instant, and so that a process killed at any moment
/// leaves either all of them or none.
///
/// The protocol (`StagingArea.commitAppend` runs it):
///
///  1. Lock every destination partition (ascending order), recover each
///     partition's tail as a writer would, and read its end offset E.
///  2. Re-offset the staged batches to start at E if they were staged elsewhere.
///  3. Write the `prepared` record, then in each partition directory a
///     marker `sluice-pending-append` {staging id, first offset E, whether
///     an empty active segment is being replaced}, then rename the staged
///     segment files into the partition directory.
///  4. Commit: rename `prepared` to `committed` in the staging area. This
///     one rename makes every partition's new segments visible at once.
///  5. Roll forward: seal each partition's previous active segment (its final
///     time-index entry, as a roll does) and remove its marker; then unlock
///     and remove the staging area.
///
/// Readers honour the markers (`Partition.segments()`): while a partition
/// has a marker whose staging area has no commit record, its segments from E
/// on do not exist for them; an empty segment that was replaced is shown from
/// a stand-in in the staging area. Writers settle a marker before appending
/// (`settle`): they hold the partition lock, which the importer holds from step
/// 1 to 5, so a marker they meet belongs to a dead process: rolled forward if
/// committed, rolled back (the staged segments removed, a replaced empty
/// segment recreated) if not. Abandoned staging areas are resolved the same
/// way when the data directory is next opened.
public enum PendingAppend {
    public static let markerName = "sluice-pending-append"
    static let kind = "pending-append"

    struct Marker: Equatable {
        var staging: String
        var partition: Int
        var firstOffset: Int64
        /// The partition's active segment was empty, at `firstOffset`: the staged one replaces it.
        var replacesEmpty: Bool

        var json: JSONValue {
            [
                "staging": .string(staging), "partition": JSONValue(partition), "first_offset": .int(firstOffset),
                "replaces_empty": .bool(replacesEmpty),
            ]
        }

        init(staging: String, partition: Int, firstOffset: Int64, replacesEmpty: Bool) {
            self.staging = staging
            self.partition = partition
            self.firstOffset = firstOffset
            self.replacesEmpty = replacesEmpty
        }

        init(json: JSONValue, what: String) throws {
            guard let staging = json["staging"]?.stringValue, let partition = json["partition"]?.intValue,
                let first = json["first_offset"]?.int64Value, let replaces = json["replaces_empty"]?.boolValue
            else {
                throw ChecksummedDocument.corrupt(what, "a pending append lacks its staging, partition, first_offset or replaces_empty")
            }
            self.init(staging: staging, partition: partition, firstOffset: first, replacesEmpty: replaces)
        }
    }

    static func markerPath(_ partitionDirectory: String) -> String { partitionDirectory + "/" + markerName }

    static func readMarker(_ partitionDirectory: String) throws -> Marker? {
        let path = markerPath(partitionDirectory)
        guard let bytes = try FileSystem.readIfExists(path, limit: 1 << 16) else { return nil }
        let (_, body) = try ChecksummedDocument.decode(bytes, kind: kind, maxVersion: 1, what: path)
        return try Marker(json: body, what: path)
    }

    /// The staging area a marker in `partitionDirectory` refers to (the data
    /// directory is the partition directory's parent).
    static func stagingPath(_ marker: Marker, partitionDirectory: String) -> String {
        FileSystem.parent(of: partitionDirectory) + "/.sluice/staging/" + marker.staging
    }

    /// The segments a reader may see: all of them, unless an uncommitted
    /// append is pending in the partition (see the type's documentation).
    static func visibleSegments(_ segments: [Segment], partitionDirectory: String) throws -> [Segment] {
        guard try FileSystem.exists(markerPath(partitionDirectory)), let marker = try readMarker(partitionDirectory) else {
            return segments
        }
        let staging = stagingPath(marker, partitionDirectory: partitionDirectory)
        // The marker is removed before the commit record when rolling
        // forward: a marker gone by now means the append is settled.
        if try FileSystem.exists(staging + "/committed") || !FileSystem.exists(markerPath(partitionDirectory)) { return segments }
        var visible = segments.filter { $0.baseOffset < marker.firstOffset }
        if marker.replacesEmpty { visible.append(Segment(directory: staging + "/empty", baseOffset: marker.firstOffset)) }
        return visible
    }

    /// Whether `latest`, listed at the base offset of the segment a reader or
    /// writer has `open`, is a different file: an import's segment that took
    /// the place of an empty one, or the stand-in for it. Only empty segments
    /// are ever replaced, so only they are checked.
    static func replaced(_ current: Segment, by latest: Segment, open: File) throws -> Bool {
        if latest.directory != current.directory { return true }
        // A file gone since it was listed (a settling import) is not a
        // replacement: the next look lists again.
        guard try open.size() == 0, let now = try File.openIfExists(latest.logPath) else { return false }
        let (a, b) = (try open.status(), try now.status())
        return a.st_ino != b.st_ino || a.st_dev != b.st_dev
    }

    /// Finishes or undoes a pending append left in `partition` by a dead
    /// process. The caller holds the partition's lock.
    static func settle(_ partition: Partition) throws {
        guard try FileSystem.exists(markerPath(partition.directory)), let marker = try readMarker(partition.directory) else { return }
        let committed = try FileSystem.exists(stagingPath(marker, partitionDirectory: partition.directory) + "/committed")
        try finish(marker, in: partition, committed: committed)
    }

    /// Settles the parts of an abandoned staging area, each under its partition's lock.
    static func resolve(_ parts: [Marker], of topicName: String, in directory: DataDirectory, committed: Bool) throws {
        // A deleted topic (or partition) has nothing left to settle; an I/O
        // error or damaged metadata must not read as one, or a committed
        // import would be dropped.
        guard let topic = try directory.existingTopic(topicName) else { return }
        for part in parts where topic.partitionIndices.contains(part.partition) {
            let partition = try topic.partition(part.partition)
            guard try FileSystem.isDirectory(partition.directory) else { continue }
            let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
            defer { lock.release() }
            try FileSystem.removeTemporaries(of: markerPath(partition.directory))
            let marker: Marker?
            do {
                marker = try readMarker(partition.directory)
            } catch let error as SluiceError where error.reason == .corruptMetadata {
                // The staging record names this partition: it says what the damaged marker held.
                Diagnostics.warn("\(error.message); settling it from the staging record")
                marker = part
            }
            if marker == part { try finish(part, in: partition, committed: committed) }
        }
    }

    /// Rolls one partition forward (seal the previous active segment, drop
    /// the marker) or back (remove the staged segments, recreate a replaced
    /// empty one, drop the marker). Both are idempotent.
    static func finish(_ marker: Marker, in partition: Partition, committed: Bool) throws {
        if committed {
            if !marker.replacesEmpty,
                let previous = try Segment.list(in: partition.directory).last(where: { $0.baseOffset < marker.firstOffset })
            {
                let appender = try PartitionAppender(partition: partition)
                try appender.seal(try appender.recover(previous))
            }
        } else {
            // Every segment file from the first offset on, including the
            // indexes of a segment whose log was not renamed in yet.
            for name in try FileSystem.list(partition.directory) {
                let suffixes = [SegmentFileName.logSuffix, SegmentFileName.indexSuffix, SegmentFileName.timeIndexSuffix]
                guard let base = suffixes.lazy.compactMap({ SegmentFileName.baseOffset(of: name, suffix: $0) }).first,
                    base >= marker.firstOffset
                else { continue }
                try FileSystem.removeFile(partition.directory + "/" + name)
            }
            if marker.replacesEmpty {
                try createEmptySegment(Segment(directory: partition.directory, baseOffset: marker.firstOffset))
            }
            try FileSystem.syncDirectory(partition.directory)
        }
        try FileSystem.removeFile(markerPath(partition.directory))
        try FileSystem.syncDirectory(partition.directory)
    }

    /// Creates a segment's three files, empty and durable (the directory is synced by the caller).
    static func createEmptySegment(_ segment: Segment) throws {
        for path in [segment.logPath, segment.indexPath, segment.timeIndexPath] {
            let file = try File.openOrCreate(path, truncate: true)
            try file.sync()
            try file.close()
        }
    }

    static func writeMarker(_ marker: Marker, in partitionDirectory: String) throws {
        try FileSystem.writeAtomically(
            markerPath(partitionDirectory),
            ChecksummedDocument.encode(kind: kind, version: 1, body: marker.json))
    }
}

/// A partition's segments staged for an append (`StagingArea.commitAppend`).
public struct StagedPartition: Sendable {
    public let partition: Int
    /// The staged segments (in the staging area), offsets from `firstOffset` to `nextOffset`.
    public let segments: [Segment]
    public let firstOffset: Int64
    public let nextOffset: Int64

    public init(partition: Int, segments: [Segment], firstOffset: Int64, nextOffset: Int64) {
        self.partition = partition
        self.segments = segments
        self.firstOffset = firstOffset
        self.nextOffset = nextOffset
    }
}

extension StagingArea {
    /// Appends staged segments to partitions of `topic`, all visible at one
    /// instant (the protocol is described at `PendingAppend`). Returns each
    /// partition's offsets as appended. On an error before the commit point
    /// nothing is visible and the partitions are as they were.
    public func commitAppend(_ parts: [StagedPartition], to topic: Topic) throws -> [(partition: Int, first: Int64, next: Int64)] {
        let parts = parts.filter { !$0.segments.isEmpty }.sorted { $0.partition < $1.partition }
        let partitions = try parts.map { try topic.partition($0.partition) }
        let locks = try partitions.map { try FileLock.acquire($0.directory, what: "partition \($0.name)", directory: true) }
        defer { locks.forEach { $0.release() } }

        var markers: [PendingAppend.Marker] = []
        for (part, partition) in zip(parts, partitions) {
            try PendingAppend.settle(partition)
            let active = try PartitionAppender(partition: partition).activeSegmentUnderLock()
            let marker = PendingAppend.Marker(
                staging: id, partition: part.partition, firstOffset: active.nextOffset,
                replacesEmpty: active.size == 0)
            try SegmentBuilder.reoffset(part.segments, by: marker.firstOffset - part.firstOffset)
            if marker.replacesEmpty {
                try FileSystem.makeDirectory(emptySegmentsPath)
                try PendingAppend.createEmptySegment(Segment(directory: emptySegmentsPath, baseOffset: marker.firstOffset))
                try FileSystem.syncDirectory(emptySegmentsPath)
            }
            markers.append(marker)
        }
        try FileSystem.writeAtomically(preparedPath, StagingRecord.append(topic: topic.name, parts: markers).encode())
        for ((marker, part), partition) in zip(zip(markers, parts), partitions) {
            try PendingAppend.writeMarker(marker, in: partition.directory)
            for segment in part.segments {
                let target = Segment(directory: partition.directory, baseOffset: segment.baseOffset + marker.firstOffset - part.firstOffset)
                try FileSystem.rename(segment.indexPath, to: target.indexPath)
                try FileSystem.rename(segment.timeIndexPath, to: target.timeIndexPath)
                try FileSystem.rename(segment.logPath, to: target.logPath)
            }
            try FileSystem.syncDirectory(partition.directory)
        }
        try commit(.append(topic: topic.name, parts: markers))
        for (marker, partition) in zip(markers, partitions) {
            try PendingAppend.finish(marker, in: partition, committed: true)
        }
        return zip(markers, parts).map { marker, part in
            (part.partition, marker.firstOffset, marker.firstOffset + part.nextOffset - part.firstOffset)
        }
    }
}
