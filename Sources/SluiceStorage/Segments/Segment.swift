import KafkaFormat
import SluiceCore
import SluiceSystem

/// The three files of one segment, named by its base offset.
public struct Segment: Sendable, Hashable, Comparable {
    public let directory: String
    public let baseOffset: Int64

    public init(directory: String, baseOffset: Int64) {
        self.directory = directory
        self.baseOffset = baseOffset
    }

    public var baseName: String { SegmentFileName.baseName(baseOffset) }
    public var logName: String { baseName + SegmentFileName.logSuffix }
    public var logPath: String { directory + "/" + logName }
    public var indexPath: String { directory + "/" + baseName + SegmentFileName.indexSuffix }
    public var timeIndexPath: String { directory + "/" + baseName + SegmentFileName.timeIndexSuffix }
    /// The offset after the last one the segment can hold: its index keeps offsets as 32-bit distances from its base.
    public var offsetCapacityEnd: Int64 { baseOffset.addingSaturated(Int64(Int32.max) + 1) }

    public static func < (a: Segment, b: Segment) -> Bool { a.baseOffset < b.baseOffset }

    /// Unlinks the segment's files, its `.log` first so it leaves the listing
    /// in one step (the directory is synced by the caller); returns the bytes
    /// they held. Readers with the log open keep reading it.
    @discardableResult
    public func remove() throws -> Int64 {
        var bytes: Int64 = 0
        for file in [logPath, indexPath, timeIndexPath] {
            bytes += try FileSystem.fileSize(file) ?? 0
            try FileSystem.removeFile(file)
        }
        return bytes
    }

    /// The segments in a partition directory, by base offset.
    public static func list(in directory: String) throws -> [Segment] {
        try FileSystem.list(directory)
            .compactMap { SegmentFileName.baseOffset(of: $0, suffix: SegmentFileName.logSuffix) }
            .sorted()
            .map { Segment(directory: directory, baseOffset: $0) }
    }
}

/// Reads an `.index` file: sparse entries mapping a batch's (last) relative
/// offset to its byte position, searched by binary search with one `pread`
/// per probe, so a lookup is O(log n) and reads a few dozen bytes.
public struct OffsetIndexFile {
    public let file: File
    public let entryCount: Int

    /// Opens the index; nil when the file does not exist. A trailing partial
    /// entry (a write cut short) is ignored.
    public static func open(_ path: String) throws -> OffsetIndexFile? {
        guard try FileSystem.exists(path) else { return nil }
        let file = try File.open(path)
        return OffsetIndexFile(file: file, entryCount: Int(try file.size()) / OffsetIndexEntry.size)
    }

    public func entry(_ i: Int) throws -> OffsetIndexEntry {
        var raw: (UInt64) = 0
        let n = try withUnsafeMutableBytes(of: &raw) { try file.readFully(into: $0, at: Int64(i * OffsetIndexEntry.size)) }
        guard n == OffsetIndexEntry.size else { throw SluiceError.failure(.io, "\(file.path) shrank while being read") }
        return withUnsafeBytes(of: &raw) { OffsetIndexEntry($0.baseAddress!) }
    }

    /// The last entry whose relative offset is ≤ `relativeOffset`, among the
    /// first `limit` entries (all by default).
    public func floorEntry(relativeOffset: Int32, limit: Int? = nil) throws -> (index: Int, entry: OffsetIndexEntry)? {
        try lastIndexEntry(count: min(limit ?? entryCount, entryCount), read: entry) { $0.relativeOffset <= relativeOffset }
    }

    public func readAll() throws -> [OffsetIndexEntry] {
        let bytes = try file.readAll(limit: 1 << 30)
        return bytes.withUnsafeBytes { raw in
            (0..<bytes.count / OffsetIndexEntry.size).map { OffsetIndexEntry(raw.baseAddress! + $0 * OffsetIndexEntry.size) }
        }
    }
}

/// Reads a `.timeindex` file: entries of (timestamp, relative offset) with
/// timestamps increasing, searched by binary search like the offset index.
public struct TimeIndexFile {
    public let file: File
    public let entryCount: Int

    public static func open(_ path: String) throws -> TimeIndexFile? {
        guard try FileSystem.exists(path) else { return nil }
        let file = try File.open(path)
        return TimeIndexFile(file: file, entryCount: Int(try file.size()) / TimeIndexEntry.size)
    }

    public func entry(_ i: Int) throws -> TimeIndexEntry {
        var raw: (UInt64, UInt32) = (0, 0)
        let n = try withUnsafeMutableBytes(of: &raw) {
            try file.readFully(
                into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<TimeIndexEntry.size]), at: Int64(i * TimeIndexEntry.size))
        }
        guard n == TimeIndexEntry.size else { throw SluiceError.failure(.io, "\(file.path) shrank while being read") }
        return withUnsafeBytes(of: &raw) { TimeIndexEntry($0.baseAddress!) }
    }

    public var lastEntry: TimeIndexEntry? {
        get throws { entryCount > 0 ? try entry(entryCount - 1) : nil }
    }

    /// The last entry whose timestamp is strictly below `timestamp`: every
    /// record up to that entry's batch is older than `timestamp`, so a search
    /// for the first record at or after it may start there.
    public func lastEntry(before timestamp: Int64) throws -> TimeIndexEntry? {
        try lastIndexEntry(count: entryCount, read: entry) { $0.timestamp < timestamp }?.entry
    }

    public func readAll() throws -> [TimeIndexEntry] {
        let bytes = try file.readAll(limit: 1 << 30)
        return bytes.withUnsafeBytes { raw in
            (0..<bytes.count / TimeIndexEntry.size).map { TimeIndexEntry(raw.baseAddress! + $0 * TimeIndexEntry.size) }
        }
    }
}

/// The last of an index file's first `count` entries for which `isBefore`
/// holds (it holds for a prefix: index entries are sorted), by binary search,
/// reading each probed entry once.
func lastIndexEntry<Entry>(
    count: Int, read: (Int) throws -> Entry,
    where isBefore: (Entry) -> Bool
) throws -> (index: Int, entry: Entry)? {
    // A binary search probes the entry just before the partition point: the
    // highest probed one for which `isBefore` holds is the answer, no re-read needed.
    var lastBefore: (index: Int, entry: Entry)?
    _ = try (0..<max(0, count)).partitioningIndex { i in
        let entry = try read(i)
        guard isBefore(entry) else { return true }
        if i > lastBefore?.index ?? -1 { lastBefore = (i, entry) }
        return false
    }
    return lastBefore
}
