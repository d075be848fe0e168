import Foundation
import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// `redistribute start|status|finish`: a 3-partition backlog fanned out ×10
/// by each strategy, the hand-off of G, --follow, the refusals and the drain.
@Suite struct RedistributeTests {
    static let backlog = 120_000
    /// G's committed offsets before the redistribution (partition 2 has none).
    static let committed: [Int: Int64] = [0: 1_234, 1: 20_011]

    /// A store with topic `orders` and group `billing` committed on partitions 0 and 1.
    func backlogStore() throws -> GroupStore {
        let store = try GroupStore()
        try store.backlogTopic("orders", count: Self.backlog)
        try store.ok(["group", "seek", "billing", "--topic", "orders:0", "--to-offset", String(Self.committed[0]!), "--execute"])
        try store.ok(["group", "seek", "billing", "--topic", "orders:1", "--to-offset", String(Self.committed[1]!), "--execute"])
        return store
    }

    /// Checks that `copy` holds every record of `source` in G's backlog
    /// exactly once, with its key, value, headers and timestamp.
    func expectExactlyOnce(
        _ copy: [TopicRecord], of source: [TopicRecord], from start: [Int: Int64], to stop: [Int64],
        provenance: Bool
    ) {
        let wanted = source.filter { $0.offset >= start[$0.partition, default: 0] && $0.offset < stop[$0.partition] }
        #expect(copy.count == wanted.count, "copied \(copy.count) records, the backlog holds \(wanted.count)")
        var bySource: [String: TopicRecord] = [:]
        for record in wanted { bySource[record.value!] = record }
        var seen = Set<String>()
        for record in copy {
            guard let original = bySource[record.value!] else { Issue.record("\(record.value!) is not in the backlog"); continue }
            #expect(seen.insert(record.value!).inserted, "\(record.value!) copied twice")
            #expect(
                record.timestamp == original.timestamp && record.key == original.key && record.originalHeaders == original.headers,
                "\(record) differs from \(original)")
            if provenance {
                let from = record.provenance
                #expect(from?.partition == original.partition && from?.offset == original.offset, "\(record) has the wrong provenance")
            } else {
                #expect(record.provenance == nil)
            }
        }
    }

    @Test(arguments: [("round-robin", true), ("round-robin", false), ("key", true), ("source-partition", false)])
    func aBacklogFansOutTenfoldExactlyOnce(strategy: String, provenance: Bool) throws {
        let store = try backlogStore()
        let stop = try store.ends("orders")
        let source = try store.records("orders")
        let dryRun = try store.ok(
            ["redistribute", "start", "orders", "--group", "billing", "--strategy", strategy, "--json"]
                + (provenance ? [] : ["--no-provenance"]))
        let plan = try JSONValue.parse(dryRun.out)
        #expect(plan["executed"] == false && plan["target_partitions"] == 30 && plan["name"] == "orders.billing.x10")
        #expect(plan["backlog_records"]?.int64Value == stop.reduce(0, +) - Self.committed.values.reduce(0, +))
        #expect(!FileManager.default.fileExists(atPath: store.path + "/orders.billing.x10-0"), "a dry run creates nothing")

        try store.ok(
            ["redistribute", "start", "orders", "--group", "billing", "--strategy", strategy, "--execute"]
                + (provenance ? [] : ["--no-provenance"]))
        let copy = try store.records("orders.billing.x10")
        expectExactlyOnce(copy, of: source, from: Self.committed, to: stop, provenance: provenance)
        #expect(
            try store.committed("billing") == ["orders-0": stop[0], "orders-1": stop[1], "orders-2": stop[2]],
            "G continues after the backlog")
        let drain = try store.committed("orders.billing.x10.drain")
        #expect(drain.count == 30 && drain.values.allSatisfy { $0 == 0 }, "the drain group starts at the beginning")
        #expect(try store.sluice(["verify", "orders.billing.x10"]).status == 0)

        let perPartition = Dictionary(grouping: copy, by: \.partition).mapValues(\.count)
        switch strategy {
        case "round-robin":
            let mean = Double(copy.count) / 30
            for p in 0..<30 {
                #expect(abs(Double(perPartition[p] ?? 0) - mean) <= mean * 0.05, "partition \(p): \(perPartition[p] ?? 0), mean \(mean)")
            }
        case "key":
            var lastOffsets: [String: Int64] = [:]
            for record in copy {
                guard let key = record.key else { continue }
                #expect(
                    record.partition == KafkaPartitioner.partition(forKey: key.utf8Array, partitions: 30),
                    "\(key) in partition \(record.partition)")
                let offset = record.provenance!.offset
                #expect(offset > lastOffsets[key, default: -1], "\(key): per-key order")
                lastOffsets[key] = offset
            }
        default:
            let origins = Dictionary(uniqueKeysWithValues: source.map { ($0.value!, $0.partition) })
            for record in copy { #expect(record.partition / 10 == origins[record.value!], "\(record.value!) left its source's block") }
        }
    }

    @Test func recordsProducedAfterTheStartWaitForTheGroup() throws {
        let store = try backlogStore()
        let stop = try store.ends("orders")
        let running = try store.start(["redistribute", "start", "orders", "--group", "billing", "--execute", "--checkpoint-every", "256K"])
        try store.waitUntil(20, "the redistribution record") {
            FileManager.default.fileExists(atPath: store.path + "/.sluice/redistributions/orders.billing.x10.redistribution")
        }
        try store.backlogTopic("orders", count: 700, first: Self.backlog)
        let result = try running.finish()
        #expect(result.status == 0, "\(result.err)")
        #expect(try store.committed("billing") == ["orders-0": stop[0], "orders-1": stop[1], "orders-2": stop[2]])
        let lag = try store.lag(["billing"])
        #expect(lag["groups"]?.arrayValue?.first?["lag"] == 700, "the new records wait for G")
        let late = try store.records("orders.billing.x10").filter { Int($0.value!.dropFirst().prefix { $0 != "-" })! >= Self.backlog }
        #expect(late.isEmpty, "\(late.count) records produced after the start were copied")
    }

    @Test func followCopiesNewRecordsUntilInterruptedThenHandsOff() throws {
        let store = try backlogStore()
        let running = try store.start([
            "redistribute", "start", "orders", "--group", "billing", "--follow", "--execute", "--strategy", "key",
        ])
        try store.waitUntil(30, "the backlog copied") {
            (try? store.redistribution("orders.billing.x10"))?["copied_records"]?.int64Value ?? 0 > 0
        }
        try store.backlogTopic("orders", count: 900, first: Self.backlog)
        let expected = try store.ends("orders").reduce(0, +) - Self.committed.values.reduce(0, +)
        try store.waitUntil(30, "the new records copied") {
            try store.redistribution("orders.billing.x10")["copied_records"]?.int64Value == expected
        }
        running.kill(SIGINT)
        let result = try running.finish()
        #expect(result.status == 0, "\(result.err)")
        let ends = try store.ends("orders")
        #expect(try store.committed("billing") == ["orders-0": ends[0], "orders-1": ends[1], "orders-2": ends[2]])
        expectExactlyOnce(
            try store.records("orders.billing.x10"), of: try store.records("orders"), from: Self.committed, to: ends, provenance: true)
        #expect(try store.redistribution("orders.billing.x10")["state"] == "draining")
    }

    @Test func aKilledFollowerResumesFollowing() throws {
        let store = try backlogStore()
        let arguments = ["redistribute", "start", "orders", "--group", "billing", "--follow", "--execute", "--checkpoint-every", "64K"]
        let first = try store.start(arguments)
        try store.waitUntil(30, "the copy") { (try? store.redistribution("orders.billing.x10"))?["copied_records"]?.int64Value ?? 0 > 0 }
        first.kill()
        _ = try first.finish()
        let second = try store.start(arguments)
        try store.backlogTopic("orders", count: 500, first: Self.backlog)
        let expected = try store.ends("orders").reduce(0, +) - Self.committed.values.reduce(0, +)
        try store.waitUntil(60, "everything copied") {
            try store.redistribution("orders.billing.x10")["copied_records"]?.int64Value == expected
        }
        second.kill(SIGTERM)
        #expect(try second.finish().status == 0)
        let ends = try store.ends("orders")
        #expect(try store.committed("billing") == ["orders-0": ends[0], "orders-1": ends[1], "orders-2": ends[2]])
        expectExactlyOnce(
            try store.records("orders.billing.x10"), of: try store.records("orders"), from: Self.committed, to: ends, provenance: true)
    }

    @Test func anInterruptedCopyStopsAtACheckpointAndResumes() throws {
        let store = try backlogStore()
        let before = try store.committed("billing")
        let arguments = ["redistribute", "start", "orders", "--group", "billing", "--execute", "--checkpoint-every", "16K"]
        // Frozen as it saves its third checkpoint, it gets SIGINT there, whatever the machine's load.
        let running = try SluiceProcess.start(
            arguments, dataDir: store.path,
            environment: ["SLUICE_FAULTS": "rename:STOP:after=2:times=1:path=.redistribution"])
        try store.waitUntil(30, "the copy to stop at its third checkpoint") { try SluiceProcess.isStopped(running.pid) }
        running.kill(SIGINT)
        running.kill(SIGCONT)
        let interrupted = try running.finish()
        #expect(
            interrupted.status == 1 && interrupted.errorLines.count == 1 && interrupted.err.contains("interrupted by SIGINT"),
            "\(interrupted.err)")
        let status = try store.redistribution("orders.billing.x10")
        #expect(status["state"] == "copying" && status["copied_records"]!.int64Value! < status["backlog_records"]!.int64Value!)
        #expect(try store.committed("billing") == before, "G moves only at the hand-off")
        let plan = try store.ok(arguments.filter { $0 != "--execute" })
        #expect(plan.out.hasPrefix("resume redistribution 'orders.billing.x10': "), "\(plan.out)")
        try store.ok(arguments)
        expectExactlyOnce(
            try store.records("orders.billing.x10"), of: try store.records("orders"), from: Self.committed,
            to: try store.ends("orders"), provenance: true)
    }

    @Test func thirtyDrainersEmptyTheTemporaryTopicAndFinishCleansUp() throws {
        let store = try backlogStore()
        try store.ok(["redistribute", "start", "orders", "--group", "billing", "--execute"])
        let before = try store.committed("billing")
        let early = try store.sluice(["redistribute", "finish", "orders.billing.x10"])
        #expect(early.status == 2 && early.errorLines.count == 1 && early.err.contains("is not drained"), "\(early.err)")
        #expect(try store.sluice(["redistribute", "status", "orders.billing.x10", "--check"]).status == 2)

        let drainers = try (0..<30).map {
            try store.start(["consume", "orders.billing.x10", "--group", "orders.billing.x10.drain", "--partition", String($0)])
        }
        var drained = 0
        for drainer in drainers {
            let result = try drainer.finish()
            #expect(result.status == 0, "\(result.err)")
            drained += result.out.split(separator: "\n").count
        }
        #expect(Int64(drained) == Int64(Self.backlog) - Self.committed.values.reduce(0, +))
        let status = try store.redistribution("orders.billing.x10")
        #expect(status["state"] == "done" && status["lag"] == 0, "\(status)")
        #expect(try store.sluice(["redistribute", "status", "--check"]).status == 0)

        let finish = try store.ok(["redistribute", "finish", "orders.billing.x10"])
        #expect(finish.out.contains("(drained)"))
        #expect(!(try store.ok(["topic", "list"]).out.contains("orders.billing.x10")))
        #expect(try store.committed("orders.billing.x10.drain").isEmpty)
        #expect(try store.committed("billing") == before, "G is left as start left it")
        let finished = try store.redistribution("orders.billing.x10")
        #expect(finished["state"] == "finished" && finished["outcome"] == "drained")
        #expect(try store.ok(["redistribute", "finish", "orders.billing.x10"]).out.contains("already finished"))
    }

    @Test func refusals() throws {
        let store = try backlogStore()
        // An active group: one of its consumers holds leases.
        let consumer = try store.start(["consume", "orders", "--group", "billing", "--follow", "--commit-interval", "1h"])
        try store.waitUntil(20, "the consumer's leases") {
            try store.lag(["billing", "--partitions"])["groups"]?.arrayValue?.first?["state"] == "active"
        }
        let active = try store.sluice(["redistribute", "start", "orders", "--group", "billing", "--execute"])
        #expect(active.status == 2 && active.errorLines.count == 1 && active.err.contains("group 'billing' is active"), "\(active.err)")
        consumer.kill(SIGTERM)
        _ = try consumer.finish()
        try store.ok(["group", "seek", "billing", "--topic", "orders", "--to-earliest", "--execute"])

        // A second redistributor of the same topic and group, while the first runs.
        let first = try store.start(["redistribute", "start", "orders", "--group", "billing", "--follow", "--execute"])
        try store.waitUntil(30, "the first redistributor") {
            (try? store.redistribution("orders.billing.x10"))?["copied_records"]?.int64Value ?? 0 > 0
        }
        let same = try store.sluice(["redistribute", "start", "orders", "--group", "billing", "--follow", "--execute"])
        #expect(
            same.status == 2 && same.errorLines.count == 1 && same.err.contains("is being copied or finished by process \(first.pid)"),
            "\(same.err)")
        let other = try store.sluice(["redistribute", "start", "orders", "--group", "billing", "--into", "other", "--execute"])
        #expect(other.status == 2 && other.errorLines.count == 1, "\(other.err)")
        let finishing = try store.sluice(["redistribute", "finish", "orders.billing.x10", "--force"])
        #expect(finishing.status == 2 && finishing.err.contains("is being copied or finished"), "\(finishing.err)")
        first.kill(SIGTERM)
        #expect(try first.finish().status == 0)
        #expect(!FileManager.default.fileExists(atPath: store.path + "/other-0"))

        // The target name already exists.
        try store.ok(["topic", "create", "taken"])
        let taken = try store.sluice(["redistribute", "start", "orders", "--group", "late", "--into", "taken", "--execute"])
        #expect(taken.status == 1 && taken.errorLines.count == 1 && taken.err.contains("topic 'taken' already exists"), "\(taken.err)")
    }

    @Test func finishForceAbandonsACopyInProgress() throws {
        let store = try backlogStore()
        let before = try store.committed("billing")
        let running = try store.start(["redistribute", "start", "orders", "--group", "billing", "--follow", "--execute"])
        try store.waitUntil(30, "the copy") { (try? store.redistribution("orders.billing.x10"))?["copied_records"]?.int64Value ?? 0 > 0 }
        running.kill(SIGKILL)
        _ = try running.finish()
        let refused = try store.sluice(["redistribute", "finish", "orders.billing.x10"])
        #expect(refused.status == 2 && refused.err.contains("is still copying"), "\(refused.err)")
        try store.ok(["redistribute", "finish", "orders.billing.x10", "--force"])
        #expect(try store.redistribution("orders.billing.x10")["outcome"] == "abandoned")
        #expect(try store.committed("billing") == before, "an abandoned redistribution never moved G")
        // The name is free again for a new redistribution.
        try store.ok(["redistribute", "start", "orders", "--group", "billing", "--execute"])
        #expect(try store.redistribution("orders.billing.x10")["state"] == "draining")
    }
}

extension String {
    var utf8Array: [UInt8] { Array(utf8) }
}

extension KafkaPartitioner {
    static func partition(forKey key: [UInt8], partitions: Int) -> Int {
        key.withUnsafeBytes { partition(forKey: $0, partitions: partitions) }
    }
}
