import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// This process as a member of a consumer group: it holds the group lock
/// shared (so commands that move offsets wait for it, or refuse) and its own
/// member file, flock-ed for as long as it lives. Other members learn of it
/// by listing `members/`; when it dies the kernel frees its lock and the next
/// member to look removes the file.
public final class GroupMember {
    public let group: GroupDirectory
    public let info: HolderInfo
    private let groupLock: FileLock
    private let memberLock: FileLock
    private let path: String

    /// A member file that is still empty this long after it was made belongs
    /// to a process that died while joining.
    static let joiningGraceMillis: Int64 = 60_000

    private init(group: GroupDirectory, info: HolderInfo, groupLock: FileLock, memberLock: FileLock, path: String) {
        self.group = group
        self.info = info
        self.groupLock = groupLock
        self.memberLock = memberLock
        self.path = path
    }

    /// Joins `group` to read `topic`: every partition in a fair split
    /// (`pinned` nil), or exactly the `pinned` ones.
    public static func join(_ group: GroupDirectory, topic: String, pinned: [Int]?, now: Int64 = WallClock.nowMillis()) throws
        -> GroupMember
    {
        try group.create()
        let groupLock: FileLock
        do {
            groupLock = try FileLock.acquire(group.lockPath, kind: .shared, what: "group '\(group.group.printable)'")
        } catch let error as SluiceError where error.reason == .lockTimeout {
            throw SluiceError.failure(
                .lockTimeout, "cannot join group '\(group.group.printable)': a command moving its offsets holds it",
                remedy: "wait for it to finish, or raise --lock-timeout")
        }
        let id = "\(HolderInfo.hostName)-\(getpid())-\(GroupName.hex(UInt64.random(in: 0...UInt64(UInt32.max)), digits: 8).lowercased())"
        let info = HolderInfo(
            member: id, pid: getpid(), host: HolderInfo.hostName, since: now, topic: topic,
            mode: pinned == nil ? "dynamic" : "pinned", partitions: pinned ?? [])
        let path = "\(group.membersPath)/\(id).member"
        try File.create(path).close()
        guard let memberLock = try FileLock.tryAcquire(path, what: "member \(id)", create: false) else {
            throw SluiceError.failure(.lockTimeout, "cannot lock the new member file \(path)", remedy: "run the consumer again")
        }
        try info.write(to: memberLock.file)
        return GroupMember(group: group, info: info, groupLock: groupLock, memberLock: memberLock, path: path)
    }

    /// Leaves the group: the member file goes first, so nobody sees it unlocked.
    public func leave() {
        try? FileSystem.removeFile(path)
        memberLock.release()
        groupLock.release()
    }

    /// The live members of a group, by member id. Files of dead members
    /// (unlocked) are removed on the way when `clean` (commands that only
    /// read leave them).
    public static func live(_ group: GroupDirectory, clean: Bool = true, now: Int64 = WallClock.nowMillis()) throws -> [HolderInfo] {
        guard try FileSystem.isDirectory(group.membersPath) else { return [] }
        var members: [HolderInfo] = []
        for name in try FileSystem.list(group.membersPath) where name.hasSuffix(".member") {
            let path = group.membersPath + "/" + name
            guard let probe = try? FileLock.tryAcquire(path, what: "member", create: false) else {
                if let info = HolderInfo.read(path) { members.append(info) }
                continue
            }
            defer { probe.release() }
            guard clean else { continue }
            let status = try? probe.file.status()
            let age = now - (status.map { Int64($0.st_mtim.tv_sec) * 1000 } ?? 0)
            if (status?.st_size ?? 1) > 0 || age > joiningGraceMillis { try? FileSystem.removeFile(path) }
        }
        return members.sorted { $0.member < $1.member }
    }
}
