import Foundation
import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// `topic migrate`: a whole topic copied into more partitions, exactly once,
/// with the named groups' offsets translated so nothing unconsumed is skipped.
@Suite struct MigrateTests {
    /// Checks the translation rule in every target partition q: every record
    /// before the group's offset there was consumed (its source offset is
    /// below the group's committed offset on its source partition), and the
    /// offset is the first record that was not (or q's end).
    static func expectTranslation(
        _ offsets: [String: Int64?], copy: [TopicRecord], source: [TopicRecord], target: String,
        partitions: Int, committed: [Int: Int64]
    ) {
        let origin = Dictionary(uniqueKeysWithValues: source.map { ($0.value!, $0) })
        let byPartition = Dictionary(grouping: copy, by: \.partition)
        for q in 0..<partitions {
            guard let resume = offsets["\(target)-\(q)"] ?? nil else { Issue.record("no translated offset for \(target)-\(q)"); continue }
            let records = (byPartition[q] ?? []).sorted { $0.offset < $1.offset }
            let consumed: (TopicRecord) -> Bool = { record in
                let from = origin[record.value!]!
                return from.offset < committed[from.partition, default: 0]
            }
            let firstUnconsumed = records.first { !consumed($0) }?.offset
            let end = records.last.map { $0.offset + 1 } ?? 0
            #expect(
                resume == firstUnconsumed ?? end,
                "\(target)-\(q): resumes at \(resume), the first unconsumed record is at \(firstUnconsumed.map(String.init) ?? "none")")
        }
    }

    @Test(arguments: ["key", "round-robin"])
    func migrationCopiesEverythingOnceAndTranslatesGroups(strategy: String) throws {
        let store = try GroupStore()
        try store.backlogTopic("orders", count: 20_000, keys: 300)
        let ends = try store.ends("orders")
        try store.ok(["group", "seek", "app", "--topic", "orders:0", "--to-offset", "1500", "--execute"])
        try store.ok(["group", "seek", "app", "--topic", "orders:1", "--to-offset", "4321", "--execute"])
        try store.ok(["group", "seek", "audit", "--topic", "orders", "--to-latest", "--execute"])
        let before = try store.snapshot()
        let plan = try JSONValue.parse(
            try store.ok([
                "topic", "migrate", "orders", "--to", "orders.v2", "--partitions", "7", "--strategy", strategy,
                "--group", "app", "--group", "audit", "--json",
            ]).out)
        #expect(plan["kind"] == "migration" && plan["target_partitions"] == 7 && plan["backlog_records"] == 20_000)
        #expect(try store.snapshot() == before, "the dry run changed the data directory")

        try store.ok([
            "topic", "migrate", "orders", "--to", "orders.v2", "--partitions", "7", "--strategy", strategy,
            "--group", "app", "--group", "audit", "--execute",
        ])
        let source = try store.records("orders")
        let copy = try store.records("orders.v2")
        RedistributeTests().expectExactlyOnce(copy, of: source, from: [:], to: ends, provenance: false)
        if strategy == "key" {
            for record in copy where record.key != nil {
                #expect(record.partition == KafkaPartitioner.partition(forKey: record.key!.utf8Array, partitions: 7))
            }
        }
        let app = try store.committed("app")
        Self.expectTranslation(app, copy: copy, source: source, target: "orders.v2", partitions: 7, committed: [0: 1500, 1: 4321])
        #expect(app["orders-0"] == 1500 && app["orders-1"] == 4321, "the old topic's offsets are unchanged")
        let audit = try store.committed("audit")
        let newEnds = try store.ends("orders.v2")
        for q in 0..<7 { #expect(audit["orders.v2-\(q)"] == newEnds[q], "a group that consumed everything starts at the ends") }
        #expect(try store.redistribution("orders.v2")["state"] == "migrated")
        // Running it again changes nothing.
        let again = try store.snapshot()
        try store.ok([
            "topic", "migrate", "orders", "--to", "orders.v2", "--partitions", "7", "--strategy", strategy,
            "--group", "app", "--group", "audit", "--execute",
        ])
        #expect(
            try store.snapshot().filter { !$0.key.hasPrefix(".sluice/redistributions/orders.v2.lock") }
                == again.filter { !$0.key.hasPrefix(".sluice/redistributions/orders.v2.lock") })
    }

    @Test func migrationRefusesActiveGroupsAndExistingTargets() throws {
        let store = try GroupStore()
        try store.backlogTopic("orders", count: 2_000)
        try store.ok(["group", "seek", "app", "--topic", "orders", "--to-offset", "10", "--execute"])
        try store.ok(["topic", "create", "taken"])
        let taken = try store.sluice(["topic", "migrate", "orders", "--to", "taken", "--partitions", "6", "--execute"])
        #expect(taken.status == 1 && taken.errorLines.count == 1 && taken.err.contains("topic 'taken' already exists"), "\(taken.err)")
        let consumer = try store.start(["consume", "orders", "--group", "app", "--follow", "--commit-interval", "1h"])
        try store.waitUntil(20, "the consumer") { try store.lag(["app"])["groups"]?.arrayValue?.first?["state"] == "active" }
        let active = try store.sluice([
            "topic", "migrate", "orders", "--to", "orders.v2", "--partitions", "6", "--group", "app", "--execute",
        ])
        #expect(active.status == 2 && active.errorLines.count == 1 && active.err.contains("group 'app' is active"), "\(active.err)")
        consumer.kill(SIGTERM)
        _ = try consumer.finish()
        #expect(!(try store.ok(["topic", "list"]).out.contains("orders.v2")))
    }
}
