import Foundation
import SluiceCore
import TestSupport
import Testing

/// SIGKILL at random moments of `redistribute start`, `finish` and `topic
/// migrate`, then the same command again: every backlog record ends up in
/// the target exactly once and the groups' offsets where they belong.
@Suite struct RedistributeCrashTests {
    /// Kills per test: 12 in `make test`, `SLUICE_CRASH_TRIALS` in `make test-crash`.
    static let trials = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_TRIALS"] ?? "") ?? 12
    static let committed: [Int: Int64] = [0: 777, 1: 5_003]

    /// Kills a command at random moments until it exits 0 on its own. The
    /// moments are drawn between two bounds that close in on the copy: a kill
    /// that found nothing copied raises the earlier bound, one that found the
    /// copy done lowers the later one, and a first, unresumed run that ended
    /// before its kill lowers the later one to its own duration. So most kills
    /// land while records are being copied, however fast this machine is today.
    struct Killer {
        var random: SeededRandom
        var earliestMillis = 20.0
        var latestMillis: Double = 3_000 * testSlowdown
        /// Kills that landed before the command finished.
        var kills = 0
        /// Kills after which the copy was partly done (some records copied, not all).
        var midCopy = 0

        init(seed: UInt64) { random = SeededRandom(seed: seed) }

        mutating func run(_ store: GroupStore, _ arguments: [String], kills limit: Int, record name: String? = nil) throws {
            for attempt in 0..<limit {
                let started = Date()
                let running = try store.start(arguments)
                let delay = Double.random(in: earliestMillis...max(latestMillis, earliestMillis + 10), using: &random)
                usleep(UInt32(delay * 1000))
                running.kill()
                let result = try running.finish()
                if result.status == 0 {
                    if attempt == 0 { latestMillis = min(latestMillis, Date().timeIntervalSince(started) * 900) }
                    return
                }
                #expect(result.status == -SIGKILL, "\(arguments.joined(separator: " ")): \(result.err)")
                kills += 1
                if let name { narrow(after: delay, found: try? store.redistribution(name)) }
            }
            let last = try store.sluice(arguments)
            #expect(last.status == 0, "\(last.err)")
        }

        private mutating func narrow(after delay: Double, found status: JSONValue?) {
            let copied = status?["copied_records"]?.int64Value ?? 0
            let backlog = status?["backlog_records"]?.int64Value ?? 0
            if copied == 0 {
                earliestMillis = min(delay, latestMillis / 2)
            } else if copied >= backlog || status?["state"] != "copying" {
                latestMillis = max(delay, earliestMillis * 2)
            } else {
                midCopy += 1
            }
        }
    }

    @Test(arguments: [("round-robin", true), ("key", true), ("source-partition", false)])
    func killedRedistributionsResumeExactlyOnce(strategy: String, provenance: Bool) throws {
        let store = try GroupStore()
        try store.backlogTopic("orders", count: 45_000)
        let source = try store.records("orders")
        let stop = try store.ends("orders")
        var killer = Killer(seed: UInt64(strategy.utf8.count) * 5_052_026)
        var round = 0
        while killer.kills < Self.trials {
            let group = "g\(round)"
            for (p, offset) in Self.committed {
                try store.ok(["group", "seek", group, "--topic", "orders:\(p)", "--to-offset", String(offset), "--execute"])
            }
            let name = "orders.\(group).x10"
            try killer.run(
                store,
                [
                    "redistribute", "start", "orders", "--group", group, "--strategy", strategy, "--execute",
                    "--checkpoint-every", "48K",
                ] + (provenance ? [] : ["--no-provenance"]),
                kills: Self.trials - killer.kills, record: name)
            RedistributeTests().expectExactlyOnce(
                try store.records(name), of: source, from: Self.committed, to: stop, provenance: provenance)
            #expect(try store.committed(group) == ["orders-0": stop[0], "orders-1": stop[1], "orders-2": stop[2]])
            let verify = try store.sluice(["verify", name])
            #expect(verify.status == 0, "\(verify.out)\(verify.err)")
            var finisher = Killer(seed: UInt64(round))
            finisher.latestMillis = 60
            try finisher.run(store, ["redistribute", "finish", name, "--force"], kills: 2)
            #expect(try store.redistribution(name)["state"] == "finished")
            #expect(!(try store.ok(["topic", "list"]).out.contains(name)))
            #expect(try store.committed("\(name).drain").isEmpty)
            round += 1
        }
        #expect(killer.midCopy * 3 >= killer.kills, "only \(killer.midCopy) of \(killer.kills) kills landed mid-copy")
    }

    @Test func killedMigrationsResumeExactlyOnceAndTranslate() throws {
        let store = try GroupStore()
        try store.backlogTopic("orders", count: 30_000)
        try store.ok(["group", "seek", "app", "--topic", "orders:0", "--to-offset", "4000", "--execute"])
        let source = try store.records("orders")
        var killer = Killer(seed: 31_337)
        var round = 0
        while killer.kills < Self.trials / 2 {
            let target = "orders.v\(round)"
            try killer.run(
                store,
                [
                    "topic", "migrate", "orders", "--to", target, "--partitions", "7", "--group", "app",
                    "--provenance", "--execute", "--checkpoint-every", "16K",
                ], kills: Self.trials / 2 - killer.kills, record: target)
            let copy = try store.records(target)
            RedistributeTests().expectExactlyOnce(copy, of: source, from: [:], to: try store.ends("orders"), provenance: true)
            MigrateTests.expectTranslation(
                try store.committed("app"), copy: copy, source: source, target: target, partitions: 7, committed: [0: 4000])
            round += 1
        }
        #expect(killer.midCopy * 3 >= killer.kills, "only \(killer.midCopy) of \(killer.kills) kills landed mid-copy")
    }
}
