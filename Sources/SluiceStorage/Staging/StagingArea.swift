import KafkaFormat
import SluiceCore
import SluiceSystem

/// A place inside the data directory where a multi-step write (an import) is
/// built before it becomes visible in one step (docs/ARCHITECTURE.md §4):
///
///     .sluice/staging/<id>.lock      flock held by the building process for its whole life
///     .sluice/staging/<id>/          what it stages: partition directories or segments
///     .sluice/staging/<id>/prepared  the intent, written before anything outside the
///                                    staging area is touched (appends only)
///     .sluice/staging/<id>/committed the commit record: the prepared record renamed, or
///                                    written atomically; once it exists the write is
///                                    rolled forward, never back
///
/// A staging area whose lock nobody holds was abandoned (its process died).
/// The next command to open the data directory, and every administrative
/// command, rolls it forward if it has a commit record and back otherwise, then
/// removes it. Creation and recovery both hold the admin lock, so an area being
/// set up is never mistaken for an abandoned one.
public final class StagingArea {
    public let directory: DataDirectory
    public let id: String
    public let path: String
    private let ownerLock: FileLock

    fileprivate init(directory: DataDirectory, id: String, ownerLock: FileLock) {
        self.directory = directory
        self.id = id
        self.path = directory.stagingPath + "/" + id
        self.ownerLock = ownerLock
    }

    /// Creates an empty staging area owned by this process.
    public static func create(in directory: DataDirectory) throws -> StagingArea {
        try directory.requireWritable("stage an import")
        return try directory.withAdminLock {
            try FileSystem.makeDirectory(directory.stagingPath)
            let id = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let lock = try FileLock.acquire(directory.stagingLockPath(id), what: "staging area \(id)", timeoutMillis: 0)
            let area = StagingArea(directory: directory, id: id, ownerLock: lock)
            try FileSystem.makeDirectory(area.path)
            try FileSystem.syncDirectory(directory.stagingPath)
            return area
        }
    }

    public var preparedPath: String { path + "/prepared" }
    public var committedPath: String { path + "/committed" }
    /// Whether the staged write is committed (it will be rolled forward whatever happens).
    public var isCommitted: Bool { get throws { try FileSystem.exists(committedPath) } }
    /// Empty segment files that stand in for replaced empty segments until an append commits.
    var emptySegmentsPath: String { path + "/empty" }

    /// Finishes what the records say (a committed write is rolled forward,
    /// one only prepared is rolled back), then removes the staging area and
    /// releases it. Called when an import is done or has failed, and for
    /// abandoned areas.
    public func discard() throws {
        try directory.resolve(self)
        // The records go first: an area a kill left half removed then has
        // nothing left to finish, where a commit record that outlived the
        // staged topic metadata it rolls forward from made every command fail.
        if try FileSystem.isDirectory(path) {
            try FileSystem.removeFile(committedPath)
            try FileSystem.removeFile(preparedPath)
            try FileSystem.syncDirectory(path)
        }
        try FileSystem.removeTree(path)
        try FileSystem.removeFile(directory.stagingLockPath(id))
        ownerLock.release()
    }

    /// Writes the commit record: from this moment the staged write is committed.
    func commit(_ record: StagingRecord) throws {
        if try FileSystem.exists(preparedPath) {
            try FileSystem.rename(preparedPath, to: committedPath)
            try FileSystem.syncDirectory(path)
        } else {
            try FileSystem.writeAtomically(committedPath, record.encode())
        }
    }
}

/// What a staging area is for, as its `prepared` and `committed` records say.
enum StagingRecord {
    /// A new topic: the staged `<topic>-<p>` directories and the metadata in `topic`.
    case createTopic(name: String)
    /// Staged segments appended to partitions of an existing topic.
    case append(topic: String, parts: [PendingAppend.Marker])

    static let kind = "staging"
    static let version = 1

    func encode() -> [UInt8] {
        switch self {
        case .createTopic(let name):
            return ChecksummedDocument.encode(
                kind: Self.kind, version: Self.version,
                body: ["action": "create-topic", "topic": .string(name)])
        case .append(let topic, let parts):
            return ChecksummedDocument.encode(
                kind: Self.kind, version: Self.version,
                body: [
                    "action": "append", "topic": .string(topic), "partitions": .array(parts.map(\.json)),
                ])
        }
    }

    static func decode(_ bytes: [UInt8], what: String) throws -> StagingRecord {
        let (_, body) = try ChecksummedDocument.decode(bytes, kind: kind, maxVersion: version, what: what)
        switch (body["action"]?.stringValue, body["topic"]?.stringValue) {
        case ("create-topic", let name?):
            return .createTopic(name: name)
        case ("append", let topic?):
            let parts = try (body["partitions"]?.arrayValue ?? []).map { try PendingAppend.Marker(json: $0, what: what) }
            return .append(topic: topic, parts: parts)
        default:
            throw ChecksummedDocument.corrupt(what, "unknown action")
        }
    }
}

extension DataDirectory {
    public var stagingPath: String { metaPath + "/staging" }

    func stagingLockPath(_ id: String) -> String { stagingPath + "/" + id + ".lock" }

    /// Whether some staging area exists (a cheap check before taking the admin lock to recover).
    var hasStagingAreas: Bool {
        get throws {
            guard kind == .sluice, let names = try FileSystem.listIfExists(stagingPath) else { return false }
            return !names.isEmpty
        }
    }

    /// Rolls abandoned staging areas forward (committed) or back (not), and
    /// removes them. The caller holds the admin lock. An area that fails to
    /// settle (an I/O error, damaged metadata it needs) is kept: it still says
    /// what was committed, readers honour it, and the next command tries
    /// again. Returns false then, so that nothing it staged is collected as
    /// garbage meanwhile.
    func recoverAbandonedStaging() throws -> Bool {
        guard try hasStagingAreas else { return true }
        var ids = Set<String>()
        for name in try FileSystem.list(stagingPath) {
            ids.insert(name.hasSuffix(".lock") ? String(name.dropLast(5)) : name)
        }
        var settled = true
        for id in ids.sorted() {
            guard let lock = try FileLock.tryAcquire(stagingLockPath(id), what: "staging area \(id)") else { continue }
            do {
                try StagingArea(directory: self, id: id, ownerLock: lock).discard()
            } catch let error as SluiceError {
                Diagnostics.warn("staging area \(id) left unsettled (the next command tries again): \(error.message)")
                settled = false
            }
        }
        return settled
    }

    fileprivate func resolve(_ area: StagingArea) throws {
        if let bytes = try FileSystem.readIfExists(area.committedPath) {
            let record: StagingRecord
            do {
                record = try StagingRecord.decode(bytes, what: area.committedPath)
            } catch let error as SluiceError where error.reason == .corruptMetadata {
                return try resolveWithoutRecord(area, committed: true, damage: error)
            }
            switch record {
            case .createTopic(let name):
                try rollForwardCreation(of: name, from: area)
            case .append(let topic, let parts):
                try PendingAppend.resolve(parts, of: topic, in: self, committed: true)
            }
        } else if let bytes = try FileSystem.readIfExists(area.preparedPath) {
            let record: StagingRecord
            do {
                record = try StagingRecord.decode(bytes, what: area.preparedPath)
            } catch let error as SluiceError where error.reason == .corruptMetadata {
                return try resolveWithoutRecord(area, committed: false, damage: error)
            }
            if case .append(let topic, let parts) = record { try PendingAppend.resolve(parts, of: topic, in: self, committed: false) }
        }
    }

    /// Finishes an area whose record is damaged from what else says what it
    /// did: a staged topic's own metadata, or the markers its append left in
    /// each partition (checksummed, and naming the area). A damaged record
    /// must not make the whole data directory unusable.
    private func resolveWithoutRecord(_ area: StagingArea, committed: Bool, damage: SluiceError) throws {
        if committed, let bytes = try FileSystem.readIfExists(area.path + "/topic"),
            let staged = try? TopicMetadata.decode(bytes, what: area.path + "/topic")
        {
            Diagnostics.warn("\(damage.message); rolling the import of topic '\(staged.name)' forward from its staged metadata")
            return try rollForwardCreation(of: staged.name, from: area)
        }
        Diagnostics.warn("\(damage.message); rolling the import \(committed ? "forward" : "back") from the markers it left in partitions")
        for name in try FileSystem.list(path) {
            guard let (topicName, _) = TopicName.parsePartitionDirectory(name), try FileSystem.isDirectory(path + "/" + name) else {
                continue
            }
            let marker: PendingAppend.Marker?
            do {
                marker = try PendingAppend.readMarker(path + "/" + name)
            } catch let error as SluiceError where error.reason == .corruptMetadata {
                continue  // not this area's to settle; the partition's next writer reports it
            }
            guard let marker, marker.staging == area.id else { continue }
            try PendingAppend.resolve([marker], of: topicName, in: self, committed: committed)
        }
    }
}

extension FileSystem {
    /// Removes what a process killed inside `writeAtomically(path, ...)` left:
    /// its temporary files beside `path`.
    static func removeTemporaries(of path: String) throws {
        let prefix = lastComponent(of: temporaryPrefix(of: path))
        let directory = parent(of: path)
        for name in try list(directory) where name.hasPrefix(prefix) { try removeFile(directory + "/" + name) }
    }
}
