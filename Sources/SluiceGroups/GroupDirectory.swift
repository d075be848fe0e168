import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// The lock files of one consumer group (docs/ARCHITECTURE.md §3):
///
///     .sluice/groups/live/<GroupName.fileName>/
///       name                      the group's name (to list groups from directories)
///       group.lock                every member holds it shared while it runs;
///                                 commands that move offsets take it exclusively
///       members/<member>.member   one per member, flock-ed by it while alive,
///                                 holding its `HolderInfo`
///       leases/<topic>-<p>.lease  flock-ed by whoever reads (or moves) that
///                                 partition, holding its `HolderInfo`
///
/// Locks die with their process, so a killed consumer's leases and membership
/// are free at once. A group is active while `group.lock` or a lease is held.
/// Lock files are never removed, so a lock is never taken on a file that is
/// being unlinked.
public struct GroupDirectory: Sendable {
    public let group: String
    public let path: String

    public init(_ directory: DataDirectory, group: String) throws {
        try GroupName.validate(group)
        self.group = group
        path = "\(directory.metaPath)/groups/live/\(GroupName.fileName(group))"
    }

    public var lockPath: String { path + "/group.lock" }
    public var membersPath: String { path + "/members" }
    public var leasesPath: String { path + "/leases" }

    public func leasePath(_ key: TopicPartition) -> String {
        let name = "\(key.topic)-\(key.partition)"
        // After the longest topic names the suffix would pass the 255-byte limit of a file name: those are cut (with a hash).
        return "\(leasesPath)/\(name.utf8.count > 249 ? GroupName.fileName(name) : name).lease"
    }

    /// Creates the directories (and the name file) on first use.
    func create() throws {
        // A link planted in place of the group's directory would take its lease and member files elsewhere.
        if let found = try FileSystem.kind(of: path), found != .directory {
            throw SluiceError.failure(
                .io, "\(path) is not a plain directory (a symbolic link?); sluice does not write through links",
                remedy: "remove it; it is recreated when the group is next used")
        }
        if try FileSystem.isDirectory(leasesPath) && FileSystem.isDirectory(membersPath) { return }
        try FileSystem.makeDirectories(membersPath)
        try FileSystem.makeDirectories(leasesPath)
        if try !FileSystem.exists(path + "/name") { try FileSystem.writeAtomically(path + "/name", Array(group.utf8)) }
    }

    /// The names of groups that have lock directories.
    public static func names(in directory: DataDirectory) throws -> [String] {
        let live = "\(directory.metaPath)/groups/live"
        guard try FileSystem.isDirectory(live) else { return [] }
        return try FileSystem.list(live).compactMap { entry in
            (try FileSystem.readIfExists("\(live)/\(entry)/name")).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Whether a member or a lease holder is running: one non-blocking probe
    /// of the group lock, creating nothing.
    public var isActive: Bool {
        guard (try? FileSystem.exists(lockPath)) ?? true else { return false }
        guard let probe = try? FileLock.tryAcquire(lockPath, what: "group", create: false) else { return true }
        probe.release()
        return false
    }

    /// The member recorded in a partition's lease file, without probing the
    /// lock: current while its holder lives (a clean release clears it).
    public func recordedLeaseOwner(_ key: TopicPartition) -> String? {
        HolderInfo.read(leasePath(key))?.member
    }

    /// Who holds a partition's lease, nil when nobody does.
    public func leaseHolder(_ key: TopicPartition) -> HolderInfo? {
        let path = leasePath(key)
        guard (try? FileSystem.exists(path)) ?? true else { return nil }
        if let probe = try? FileLock.tryAcquire(path, what: "lease", create: false) {
            probe.release()
            return nil
        }
        return HolderInfo.read(path) ?? HolderInfo(member: "unknown", pid: LockHolders.pids(ofPath: path).first ?? 0, host: "", since: 0)
    }
}

/// The file form of a holder: one `key=value` per line.
extension HolderInfo {
    var text: String {
        var lines = ["member=\(member)", "pid=\(pid)", "host=\(host)", "since=\(since)"]
        if let topic { lines.append("topic=\(topic)") }
        if let mode { lines.append("mode=\(mode)") }
        if !partitions.isEmpty { lines.append("partitions=" + partitions.map(String.init).joined(separator: ",")) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String) -> HolderInfo? {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[line[..<eq]] = line[line.index(after: eq)...]
        }
        guard let member = fields["member"], let pid = fields["pid"].flatMap({ Int32($0) }),
            let since = fields["since"].flatMap({ Int64($0) })
        else { return nil }
        return HolderInfo(
            member: String(member), pid: pid, host: String(fields["host"] ?? ""), since: since,
            topic: fields["topic"].map(String.init), mode: fields["mode"].map(String.init),
            partitions: fields["partitions"]?.split(separator: ",").compactMap { Int($0) } ?? [])
    }

    static func read(_ path: String) -> HolderInfo? {
        (try? FileSystem.readIfExists(path, limit: 1 << 16)).flatMap { $0 }.flatMap { parse(String(decoding: $0, as: UTF8.self)) }
    }

    /// Writes the info into a locked file (truncating what a previous holder wrote).
    func write(to file: File) throws {
        try file.truncate(to: 0)
        try file.write(Array(text.utf8), at: 0)
    }
}

/// A held lease on one partition of a group.
public final class Lease {
    public let topicPartition: TopicPartition
    private let lock: FileLock

    init(_ topicPartition: TopicPartition, lock: FileLock) {
        self.topicPartition = topicPartition
        self.lock = lock
    }

    /// One non-blocking attempt; nil when someone else holds it.
    public static func tryAcquire(_ group: GroupDirectory, _ key: TopicPartition, holder: HolderInfo) throws -> Lease? {
        try group.create()
        guard let lock = try FileLock.tryAcquire(group.leasePath(key), what: "the lease of \(key) in group '\(group.group.printable)'")
        else { return nil }
        try holder.write(to: lock.file)
        return Lease(key, lock: lock)
    }

    /// Waits up to the lock timeout; the error names the holder.
    public static func acquire(_ group: GroupDirectory, _ key: TopicPartition, holder: HolderInfo) throws -> Lease {
        try group.create()
        do {
            let lock = try FileLock.acquire(group.leasePath(key), what: "the lease of \(key) in group '\(group.group.printable)'")
            try holder.write(to: lock.file)
            return Lease(key, lock: lock)
        } catch let error as SluiceError where error.reason == .lockTimeout {
            let who = group.leaseHolder(key)?.summary ?? "another process"
            throw SluiceError.failure(
                .lockTimeout, "partition \(key) of group '\(group.group.printable)' is leased by \(who)",
                remedy: "each partition is read by one member at a time; stop that consumer, or wait longer with --lock-timeout")
        }
    }

    /// Clears the holder info and releases the lease.
    public func release() {
        try? lock.file.truncate(to: 0)
        lock.release()
    }
}
