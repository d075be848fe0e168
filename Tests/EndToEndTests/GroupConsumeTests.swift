import Foundation
import SluiceCore
import TestSupport
import Testing

/// `consume --group`: committed offsets, leases, the refusal of active groups,
/// at-least-once delivery across SIGKILL, and the fair split.
@Suite struct GroupConsumeTests {
    /// The partitions whose leases are held, with their holders' pids, from
    /// `group describe` (none while the group is not known yet).
    func holders(_ store: GroupStore, _ group: String) throws -> [Int: Int] {
        let result = try store.sluice(["group", "describe", group, "--json"])
        guard result.status == 0 else { return [:] }
        let describe = try JSONValue.parse(result.out)
        var out: [Int: Int] = [:]
        for topic in describe["topics"]?.arrayValue ?? [] {
            for row in topic["partitions"]?.arrayValue ?? [] {
                if let pid = row["holder"]?["pid"]?.intValue { out[row["partition"]!.intValue!] = pid }
            }
        }
        return out
    }

    @Test func consumersResumeFromTheirCommits() throws {
        let store = try GroupStore()
        try store.topic("c", counts: [20])
        #expect(try store.ok(["consume", "c", "--group", "g", "--max-messages", "5"]).out == "0-0\n0-1\n0-2\n0-3\n0-4\n")
        #expect(try store.ok(["consume", "c", "--group", "g", "--max-messages", "5"]).out == "0-5\n0-6\n0-7\n0-8\n0-9\n")
        #expect(try store.committed("g") == ["c-0": 10])
        #expect(try store.ok(["consume", "c", "--group", "g", "--no-commit"]).out.split(separator: "\n").count == 10)
        #expect(try store.committed("g") == ["c-0": 10], "--no-commit")
        // A new group starts where --from says; a topic created again starts without the old one's offsets.
        #expect(try store.ok(["consume", "c", "--group", "late", "--from", "latest"]).out == "")
        #expect(try store.committed("late") == ["c-0": 20])
        try store.ok(["topic", "delete", "c", "--yes"])
        try store.topic("c", counts: [3])
        let reset = try store.ok(["consume", "c", "--group", "g"])
        #expect(reset.out == "0-0\n0-1\n0-2\n")
        #expect(try store.committed("g") == ["c-0": 3])
    }

    @Test func staticAndPinnedMembers() throws {
        let store = try GroupStore()
        try store.topic("m", counts: [2, 2, 2, 2])
        let even = try store.ok(["consume", "m", "--group", "s", "--member", "0/2", "--format", "%p %o\\n"]).out
        #expect(offsetsByPartition(even).keys.sorted() == [0, 2])
        #expect(try store.committed("s") == ["m-0": 2, "m-1": nil, "m-2": 2, "m-3": nil])
        let pinned = try store.start(["consume", "m", "--group", "s", "--partition", "1", "--follow"])
        try store.waitUntil(20, "the pinned consumer's lease") { try holders(store, "s")[1] == Int(pinned.pid) }
        let second = try store.sluice(["consume", "m", "--group", "s", "--partition", "1", "--lock-timeout", "300ms"])
        #expect(second.status == 1)
        #expect(
            second.errorLines.count == 1 && second.errorLines[0].contains("partition m-1 of group 's' is leased by member ")
                && second.errorLines[0].contains("pid \(pinned.pid)"), "\(second.err)")
        pinned.kill(SIGTERM)
        #expect(try pinned.finish().status == 0)
        #expect(try store.committed("s")["m-1"] == 2, "a clean stop commits")
    }

    @Test func anActiveGroupIsRefusedThenWaitedFor() throws {
        let store = try GroupStore()
        try store.topic("s", counts: [100, 50, 20])
        let consumer = try store.start(["consume", "s", "--group", "g", "--follow", "--commit-interval", "100ms"])
        try store.waitUntil(20, "the consumer's leases") { try holders(store, "g").count == 3 }
        try store.waitUntil(20, "the consumer's commits") { try store.committed("g") == ["s-0": 100, "s-1": 50, "s-2": 20] }
        let before = try store.snapshot()
        for arguments in [
            ["group", "seek", "g", "--topic", "s", "--to-earliest", "--execute"], ["group", "delete", "g"],
            ["group", "rollback", "g", "--to-commit-at", "now", "--execute"],
        ] {
            let refused = try store.sluice(arguments)
            #expect(refused.status == 2, "\(arguments): \(refused.err)")
            #expect(refused.errorLines.count == 1, "\(refused.err)")
            #expect(refused.errorLines.first?.contains("group 'g' is active: member ") == true, "\(refused.err)")
            #expect(
                refused.errorLines.first?.contains("pid \(consumer.pid)") == true
                    && refused.errorLines.first?.contains("holding s-0, s-1, s-2") == true)
        }
        #expect(
            try store.snapshot().filter { !$0.key.hasSuffix(".lock") && !$0.key.contains("/members/") }
                == before.filter { !$0.key.hasSuffix(".lock") && !$0.key.contains("/members/") }, "refusals change nothing")
        let list = try JSONValue.parse(try store.ok(["group", "list", "--json"]).out)
        #expect(list["groups"]?.arrayValue?.first?["state"]?.stringValue == "active")
        #expect(list["groups"]?.arrayValue?.first?["members"]?.intValue == 1)

        let waiting = try store.start(["group", "seek", "g", "--topic", "s", "--to-earliest", "--execute", "--wait-inactive", "20s"])
        usleep(400_000)
        consumer.kill(SIGTERM)
        #expect(try consumer.finish().status == 0)
        let seek = try waiting.finish()
        #expect(seek.status == 0, "\(seek.err)")
        #expect(try store.committed("g") == ["s-0": 0, "s-1": 0, "s-2": 0])
    }

    @Test func atLeastOnceAcrossSIGKILL() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "a", "-p", "3"])
        // Enough records that a kill a few milliseconds in lands mid-stream (a whole run takes ~0.1 s).
        let values = (0..<1_500_000).map { "record-\($0)" }.joined(separator: "\n") + "\n"
        #expect(try store.sluice(["produce", "a"], stdin: values).status == 0)
        var random = SeededRandom(seed: 3_2026)
        var seen: [Int: [Int64]] = [:]
        var killedMidStream = 0
        for trial in 0..<4 {
            let startAt = try store.committed("c")
            let run = try store.start(["consume", "a", "--group", "c", "--commit-every", "1000", "--format", "%p %o\\n"])
            if trial < 3 {
                usleep(UInt32.random(in: 3_000...35_000, using: &random))
                run.kill()
            }
            let result = try run.finish()
            if result.status != 0 { killedMidStream += 1 }
            let delivered = offsetsByPartition(result.out)
            let committed = try store.committed("c")
            for (p, offsets) in delivered {
                // Each run starts exactly at the last commit, reads in order, and commits only what it wrote.
                let from = startAt["a-\(p)"].flatMap { $0 } ?? 0
                #expect(offsets.first == from, "trial \(trial) partition \(p) starts at \(offsets.first ?? -1), committed \(from)")
                #expect(offsets == Array(from..<from + Int64(offsets.count)), "trial \(trial) partition \(p) skipped a record")
                let now = committed["a-\(p)"].flatMap { $0 } ?? 0
                #expect(now <= from + Int64(offsets.count), "trial \(trial) partition \(p) committed \(now) beyond what it wrote")
                seen[p, default: []] += offsets
            }
        }
        #expect(killedMidStream >= 1, "at least one kill should land mid-stream")
        let report = try store.lag(["c"])
        let rows = report["groups"]!.arrayValue![0]["topics"]!.arrayValue![0]["partitions"]!.arrayValue!
        var total = 0
        for row in rows {
            let p = row["partition"]!.intValue!, end = row["log_end_offset"]!.int64Value!
            #expect(Set(seen[p] ?? []) == Set(0..<end), "partition \(p): every record delivered")
            #expect(row["lag"]?.int64Value == 0)
            total += Int(end)
        }
        #expect(total == 1_500_000)
    }
}
