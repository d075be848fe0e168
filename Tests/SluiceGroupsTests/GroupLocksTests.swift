import Foundation
import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem
import TestSupport
import Testing

@testable import SluiceGroups

/// Group names on disk, leases, membership and the change guard.
@Suite struct GroupLocksTests {
    @Test func groupNamesNeverEscapeTheDataDirectory() throws {
        #expect(GroupName.fileName("billing-v2.prod") == "billing-v2.prod")
        #expect(GroupName.fileName("../etc/passwd") == "%2E.%2Fetc%2Fpasswd")
        #expect(GroupName.fileName(".") == "%2E")
        #expect(GroupName.fileName("consumer group é") == "consumer%20group%20%C3%A9")
        let long = GroupName.fileName(String(repeating: "/", count: 249))
        #expect(long.utf8.count <= 200 && !long.contains("/"))
        #expect(long != GroupName.fileName(String(repeating: "/", count: 248)))
        for bad in ["", "tab\there", String(repeating: "x", count: 250)] {
            #expect(throws: SluiceError.self) { try GroupName.validate(bad) }
        }
    }

    func group(_ dir: TemporaryDirectory, _ name: String = "g") throws -> GroupDirectory {
        let data = try DataDirectory.open(dir.path + "/data")
        try data.initializeIfNeeded()
        return try GroupDirectory(data, group: name)
    }

    @Test func aLeaseIsExclusiveAndNamesItsHolder() throws {
        let dir = TemporaryDirectory()
        let g = try group(dir)
        let key = TopicPartition("t", 3)
        #expect(g.leaseHolder(key) == nil)
        let holder = HolderInfo(member: "m-1", pid: 42, host: "h", since: 1_700_000_000_000)
        let lease = try #require(try Lease.tryAcquire(g, key, holder: holder))
        #expect(try Lease.tryAcquire(g, key, holder: holder) == nil)
        #expect(g.leaseHolder(key) == holder)
        #expect(g.recordedLeaseOwner(key) == "m-1")
        lease.release()
        #expect(g.leaseHolder(key) == nil)
        #expect(g.recordedLeaseOwner(key) == nil)
    }

    @Test func membersAreLiveWhileTheyHoldTheirLock() throws {
        let dir = TemporaryDirectory()
        let g = try group(dir)
        #expect(!g.isActive)
        let a = try GroupMember.join(g, topic: "t", pinned: nil)
        let b = try GroupMember.join(g, topic: "t", pinned: [2, 3])
        #expect(g.isActive)
        #expect(try GroupMember.live(g).map(\.member) == [a.info.member, b.info.member].sorted())
        #expect(try GroupMember.live(g).first { $0.member == b.info.member }?.partitions == [2, 3])
        // A member file nobody holds is a dead member's: listed no more, and removed.
        let dead = g.membersPath + "/dead.member"
        try FileSystem.writeAtomically(dead, Array(HolderInfo(member: "dead", pid: 1, host: "h", since: 1).text.utf8))
        #expect(try GroupMember.live(g, clean: false).count == 2)
        #expect(try FileSystem.exists(dead))
        _ = try GroupMember.live(g)
        #expect(try !FileSystem.exists(dead))
        a.leave()
        b.leave()
        #expect(try GroupMember.live(g).isEmpty)
        #expect(!g.isActive)
    }

    @Test func theGuardRefusesAnActiveGroupNamingItsMembers() throws {
        let dir = TemporaryDirectory()
        let g = try group(dir)
        let member = try GroupMember.join(g, topic: "t", pinned: nil)
        let lease = try #require(try Lease.tryAcquire(g, TopicPartition("t", 0), holder: member.info))
        do {
            _ = try GroupChangeGuard.acquire(g, force: false, waitMillis: nil)
            Issue.record("an active group must be refused")
        } catch let error as SluiceError {
            #expect(error.kind == .checkFailed && error.reason == .groupActive)
            #expect(
                error.message.contains(member.info.member) && error.message.contains("pid \(getpid())")
                    && error.message.contains("holding t-0"))
        }
        let (forced, warnings) = try capturingWarnings { try GroupChangeGuard.acquire(g, force: true, waitMillis: nil) }
        forced.release()
        #expect(warnings.count == 1 && warnings[0].contains("--force"))
        // --wait-inactive: the member leaves while the guard waits.
        nonisolated(unsafe) let leaving = (lease, member)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            leaving.0.release()
            leaving.1.leave()
        }
        let held = try GroupChangeGuard.acquire(g, force: false, waitMillis: 5000)
        #expect(try FileLock.tryAcquire(g.lockPath, kind: .shared, what: "join") == nil, "no member joins during a change")
        held.release()
        try GroupMember.join(g, topic: "t", pinned: nil).leave()
    }
}
