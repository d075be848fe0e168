import Foundation
import SluiceCore
import TestSupport
import Testing

/// Many members of one group: the fair split, hand-over when one dies, and
/// concurrent committers.
@Suite struct GroupSplitTests {
    /// Lease holders (pids) by partition, from `group describe`.
    func holders(_ store: GroupStore, _ group: String) throws -> [Int: Int] {
        let result = try store.sluice(["group", "describe", group, "--json"])
        guard result.status == 0 else { return [:] }
        var out: [Int: Int] = [:]
        for row in try JSONValue.parse(result.out)["topics"]?.arrayValue?.first?["partitions"]?.arrayValue ?? [] {
            if let pid = row["holder"]?["pid"]?.intValue { out[row["partition"]!.intValue!] = pid }
        }
        return out
    }

    @Test func thirtyMembersSplitThirtyPartitionsAndTakeOverADeadOnes() throws {
        let store = try GroupStore()
        let partitions = 30
        try store.topic("D", counts: [Int](repeating: 10, count: partitions))
        // Commits happen only when partitions change hands and when members stop.
        var members: [SluiceProcess.Running] = []
        for _ in 0..<partitions {
            members.append(
                try store.start(["consume", "D", "--group", "D", "--follow", "--commit-interval", "1h", "--format", "%p %o\\n"]))
        }
        try store.waitUntil(90, "one partition per member") {
            let held = try holders(store, "D")
            return held.count == partitions && Set(held.values) == Set(members.map { Int($0.pid) })
        }
        var lines = ""
        for p in 0..<partitions { for i in 10..<20 { lines += #"{"partition":\#(p),"value":"\#(p)-\#(i)"}"# + "\n" } }
        #expect(try store.sluice(["produce", "D", "--json"], stdin: lines).status == 0)
        usleep(1_500_000)
        // Kill the holder of partition 7 after it delivered 10..19 without committing them.
        let victim = members.first { Int($0.pid) == (try? holders(store, "D"))?[7] }!
        victim.kill()
        var seen = offsetsByPartition(try victim.finish().out)
        let lastCommit = (try store.committed("D")["D-7"] ?? nil) ?? 0
        let survivors = members.filter { $0 !== victim }
        try store.waitUntil(30, "partition 7 taken over") {
            let now = try holders(store, "D")
            return now.count == partitions && Set(now.values).isSubset(of: Set(survivors.map { Int($0.pid) }))
        }
        let counts = Dictionary(grouping: try holders(store, "D").values, by: { $0 }).mapValues(\.count).values.sorted()
        #expect(counts == [Int](repeating: 1, count: partitions - 2) + [2])
        usleep(500_000)
        for member in survivors {
            member.kill(SIGTERM)
            let result = try member.finish()
            #expect(result.status == 0, "\(result.err)")
            for (p, offsets) in offsetsByPartition(result.out) { seen[p, default: []] += offsets }
        }
        #expect(try store.lag(["D"])["groups"]?.arrayValue?.first?["lag"]?.int64Value == 0, "stopping members commit")
        for p in 0..<partitions {
            let offsets = seen[p] ?? []
            #expect(Set(offsets) == Set(0..<20), "partition \(p): every record delivered")
            let twice = Set(offsets.filter { o in offsets.filter { $0 == o }.count > 1 })
            if p == 7 {
                #expect(
                    twice.allSatisfy { $0 >= lastCommit }, "only records after the dead member's last commit \(lastCommit) are read twice")
                #expect(!twice.isEmpty, "the dead member delivered records it had not committed")
            } else {
                #expect(twice.isEmpty, "partition \(p) was read twice: \(twice.sorted())")
            }
        }
    }

    @Test func concurrentCommittersLoseNoCommit() throws {
        let store = try GroupStore()
        let writers = 8, rounds = 5
        try store.topic("t", counts: [Int](repeating: 10, count: writers))
        var shells: [Process] = []
        for w in 0..<writers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            let script = (1...rounds).map {
                "\"$S\" group seek G --topic t:\(w) --to-offset \($0) --execute --wait-inactive 60s --quiet >/dev/null || exit 1"
            }
            process.arguments = ["-c", script.joined(separator: "\n")]
            process.environment = ["S": SluiceProcess.binary, "SLUICE_DATA_DIR": store.path]
            try process.run()
            shells.append(process)
        }
        for shell in shells {
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0)
        }
        let changes = try JSONValue.parse(try store.ok(["group", "history", "G", "--json"]).out)["changes"]!.arrayValue!
        #expect(changes.count == writers * rounds)
        for w in 0..<writers {
            #expect(changes.filter { $0["partition"]?.intValue == w }.map { $0["offset"]!.int64Value! } == (1...Int64(rounds)).map { $0 })
        }
        #expect(try store.committed("G") == Dictionary(uniqueKeysWithValues: (0..<writers).map { ("t-\($0)", Int64(rounds)) }))
    }
}
