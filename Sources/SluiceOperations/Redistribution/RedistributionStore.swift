import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

/// The records of a data directory's redistributions and migrations, in
/// `.sluice/redistributions/`, and the lock that lets one process at a time
/// copy or finish each.
public struct RedistributionStore {
    public let directory: DataDirectory

    public init(directory: DataDirectory) {
        self.directory = directory
    }

    var path: String { directory.metaPath + "/redistributions" }
    func recordPath(_ name: String) -> String { "\(path)/\(name).redistribution" }
    func lockPath(_ name: String) -> String { "\(path)/\(name).lock" }

    /// The record named `name` (a topic name), nil when there is none.
    public func load(_ name: String) throws -> RedistributionRecord? {
        try TopicName.validate(name)
        guard let bytes = try FileSystem.readIfExists(recordPath(name)) else { return nil }
        return try RedistributionRecord.decode(bytes, what: "the record of redistribution '\(name)' (\(recordPath(name)))")
    }

    /// The record named `name`, or an error saying how to find one.
    public func require(_ name: String) throws -> RedistributionRecord {
        guard let record = try load(name) else {
            throw SluiceError.failure(
                .unknownRedistribution, "there is no redistribution or migration named '\(name.printable)' in \(directory.path)",
                remedy: "list them with 'sluice redistribute status'")
        }
        return record
    }

    /// Every record, by name.
    public func all() throws -> [RedistributionRecord] {
        guard directory.kind == .sluice, try FileSystem.isDirectory(path) else { return [] }
        return try FileSystem.list(path).filter { $0.hasSuffix(".redistribution") }.sorted().compactMap {
            try load(String($0.dropLast(".redistribution".count)))
        }
    }

    /// Replaces the record atomically: the commit point of every step.
    public func save(_ record: inout RedistributionRecord, now: Int64 = WallClock.nowMillis()) throws {
        record.updatedAt = now
        try FileSystem.makeDirectories(path)
        try FileSystem.writeAtomically(recordPath(record.name), record.encode())
    }

    /// Takes the record's lock without waiting: a second process copying or
    /// finishing the same redistribution is refused (exit 2), naming the first.
    public func lock(_ name: String) throws -> FileLock {
        try directory.initializeIfNeeded()
        try FileSystem.makeDirectories(path)
        guard let lock = try FileLock.tryAcquire(lockPath(name), what: "redistribution '\(name)'") else {
            let pids = LockHolders.pids(ofPath: lockPath(name))
            let who = pids.isEmpty ? "another process" : "process " + pids.map(String.init).joined(separator: ", ")
            throw SluiceError.checkFailed(
                .redistributionRunning, "redistribution '\(name)' is being copied or finished by \(who)",
                remedy: "wait for it to end (see 'sluice redistribute status \(name)'), or stop it with SIGINT")
        }
        return lock
    }
}

extension SluiceError.Reason {
    public static let unknownRedistribution = Self("unknown-redistribution")
    public static let redistributionRunning = Self("redistribution-running")
    public static let redistributionConflict = Self("redistribution-conflict")
}
