import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a group still while a command moves its offsets (seek, rollback,
/// delete): it takes the group lock exclusively — no member runs, and none
/// can join until the change is committed — then the leases of the
/// partitions it changes, so there is no moment between the check and the
/// commit when a consumer could start. Plans are made while it is held.
public final class GroupChangeGuard: GroupHold {
    private var groupLock: FileLock?
    private var leases: [Lease]
    private let group: GroupDirectory
    private let holder: HolderInfo

    private init(group: GroupDirectory, holder: HolderInfo, groupLock: FileLock?) {
        self.group = group
        self.holder = holder
        self.groupLock = groupLock
        self.leases = []
    }

    /// Acquires the group for a change. An active group is refused (exit 2,
    /// naming its members and what they hold) unless `force`; with
    /// `waitMillis` it is retried until then.
    public static func acquire(
        _ group: GroupDirectory, force: Bool, waitMillis: Int64?,
        holder: HolderInfo = .administrator()
    ) throws -> GroupChangeGuard {
        try group.create()
        let deadline = WallClock.monotonicNanos() + UInt64(max(0, waitMillis ?? 0)) * 1_000_000
        while true {
            if let lock = try FileLock.tryAcquire(group.lockPath, what: "group '\(group.group.printable)'") {
                try holder.write(to: lock.file)
                return GroupChangeGuard(group: group, holder: holder, groupLock: lock)
            }
            if force {
                Diagnostics.warn(
                    """
                    group '\(group.group.printable)' is active (\(describeActivity(group))); changing its \
                    offsets anyway because of --force: its consumers may overwrite them at their next commit
                    """
                )
                return GroupChangeGuard(group: group, holder: holder, groupLock: nil)
            }
            if WallClock.monotonicNanos() >= deadline { throw refusal(group) }
            usleep(100_000)
        }
    }

    private static func refusal(_ group: GroupDirectory) -> SluiceError {
        .checkFailed(
            .groupActive, "group '\(group.group.printable)' is active: \(describeActivity(group))",
            remedy:
                "stop its consumers, wait for them with --wait-inactive DURATION, or pass --force (they may then overwrite the new offsets)"
        )
    }

    /// Takes the leases of the partitions about to change. Under the group
    /// lock they are free; a lease someone holds anyway (another forced
    /// change) refuses the change. Forced changes take none.
    public func claim(_ scope: [TopicPartition]) throws {
        guard groupLock != nil else { return }
        for key in scope {
            guard let lease = try Lease.tryAcquire(group, key, holder: holder) else { throw Self.refusal(group) }
            leases.append(lease)
        }
    }

    public func release() {
        leases.forEach { $0.release() }
        leases = []
        try? groupLock?.file.truncate(to: 0)
        groupLock?.release()
        groupLock = nil
    }

    deinit { release() }

    /// Who keeps a group active: each live member with the leases it holds,
    /// or the processes holding the group lock when no member file says.
    public static func describeActivity(_ group: GroupDirectory) -> String {
        let members = (try? GroupMember.live(group, clean: false)) ?? []
        var held: [String: [String]] = [:]
        var others: [String] = []
        let leaseFiles = (try? FileSystem.list(group.leasesPath)) ?? []
        for name in leaseFiles.sorted() where name.hasSuffix(".lease") {
            guard let (topic, partition) = TopicName.parsePartitionDirectory(String(name.dropLast(6))),
                let holder = group.leaseHolder(TopicPartition(topic, partition))
            else { continue }
            if members.contains(where: { $0.member == holder.member }) {
                held[holder.member, default: []].append("\(topic)-\(partition)")
            } else {
                others.append("\(topic)-\(partition) leased by \(holder.summary)")
            }
        }
        var parts = members.map { member in
            member.summary + (held[member.member].map { " holding " + $0.joined(separator: ", ") } ?? "")
        }
        parts += others
        if parts.isEmpty {
            let pids = LockHolders.pids(ofPath: group.lockPath)
            parts.append(
                pids.isEmpty
                    ? "its group lock is held" : "its group lock is held by process " + pids.map(String.init).joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }
}
