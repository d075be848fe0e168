import Foundation
import SluiceCore
import TestSupport
import Testing

/// `retention` and `delete-records` end to end: Kafka's rules, dry runs that
/// change nothing, groups warned about (or protected), the log start every
/// reader then sees, and bad input.
@Suite struct RetentionCommandTests {
    static let old: Int64 = 1_600_000_000_000

    /// Topic `name` (small segments) with `old` records from 2020 and then
    /// `recent` records from now, in each of `partitions` partitions.
    func events(
        _ store: GroupStore, _ name: String = "events", partitions: Int = 1, old: Int = 300, recent: Int = 100,
        config: [String] = []
    ) throws {
        try store.ok(["topic", "create", name, "-p", String(partitions), "-c", "segment.bytes=1024"] + config.flatMap { ["-c", $0] })
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var lines = ""
        for p in 0..<partitions {
            for i in 0..<(old + recent) {
                let timestamp = i < old ? Self.old + Int64(i) * 1000 : now
                lines += #"{"partition":\#(p),"timestamp":\#(timestamp),"value":"\#(p)-\#(i)-padding-padding"}"# + "\n"
            }
        }
        let produced = try store.sluice(["produce", name, "--json", "--batch-size", "200"], stdin: lines)
        guard produced.status == 0 else { throw Failure(produced.err) }
    }

    func describe(_ store: GroupStore, _ topic: String) throws -> [JSONValue] {
        try JSONValue.parse(try store.ok(["topic", "describe", topic, "--json"]).out)["partitions"]!.arrayValue!
    }

    func offsets(_ store: GroupStore, _ topic: String) throws -> [Int: [Int64]] {
        offsetsByPartition(try store.ok(["consume", topic, "--format", "%p %o\\n"]).out)
    }

    @Test func retentionByTimeDeletesWholeOldSegmentsAndNamesTheGroupsThatLoseRecords() throws {
        let store = try GroupStore()
        try events(store)
        try store.ok(["group", "seek", "reader", "--topic", "events", "--to-offset", "50", "--execute"])
        let before = try store.snapshot()

        // A dry run (the default) shows the plan and changes nothing.
        let dry = try store.ok(["retention", "--json"])
        let plan = try JSONValue.parse(dry.out)
        #expect(plan["executed"]?.boolValue == false)
        let planned = plan["partitions"]!.arrayValue![0]
        let newStart = planned["new_log_start_offset"]!.int64Value!
        #expect(newStart > 50 && newStart <= 300)
        #expect(planned["rules"]?.arrayValue?.map { $0.stringValue! } == ["retention.ms"])
        #expect(plan["groups_losing_records"]?.arrayValue?.first?["group"]?.stringValue == "reader")
        #expect(dry.errorLines.contains { $0.contains("group 'reader' has not consumed offsets 50 to \(newStart - 1) of events-0") })
        #expect(try store.snapshot() == before)

        let run = try store.ok(["retention", "--execute", "--json"])
        let done = try JSONValue.parse(run.out)
        #expect(done["executed"]?.boolValue == true)
        #expect(done["bytes_freed"]!.int64Value! > 0)
        #expect(done["partitions"]!.arrayValue![0]["new_log_start_offset"]?.int64Value == newStart)
        // Every reader sees the new log start; the newest records all stay.
        #expect(try describe(store, "events")[0]["log_start_offset"]?.int64Value == newStart)
        #expect(try offsets(store, "events")[0] == Array(newStart..<400))
        #expect(try store.ok(["verify", "events"]).status == 0)
        // The group that lost records starts again at the log start, as Kafka's auto.offset.reset=earliest.
        let resumed = try store.ok(["consume", "events", "--group", "reader", "--format", "%o\\n"])
        #expect(resumed.out.split(separator: "\n").first.map(String.init) == String(newStart))
        #expect(resumed.errorLines.contains { $0.contains("committed offset 50 of events-0 is outside its log") })

        // Nothing left to do; and an all-old partition keeps its active segment.
        #expect(try JSONValue.parse(try store.ok(["retention", "--execute", "--json"]).out)["records_deleted"]?.int64Value == 0)
        try events(store, "ancient", old: 200, recent: 0)
        try store.ok(["retention", "ancient", "--execute"])
        let ancient = try describe(store, "ancient")[0]
        #expect(ancient["end_offset"]?.int64Value == 200)
        #expect(ancient["log_start_offset"]!.int64Value! > 0 && ancient["records"]!.int64Value! > 0)
    }

    @Test func retentionBySizeAndKeepUnconsumed() throws {
        let store = try GroupStore()
        try events(store, partitions: 2, old: 0, recent: 400, config: ["retention.bytes=4000"])
        let sizes = try describe(store, "events").map { $0["bytes"]!.int64Value! }
        #expect(sizes.allSatisfy { $0 > 12_000 })
        try store.ok(["group", "seek", "slow", "--topic", "events:0", "--to-offset", "10", "--execute"])

        // --keep-unconsumed: partition 0 keeps what 'slow' has not read; partition 1 (no commit there) shrinks.
        let kept = try JSONValue.parse(try store.ok(["retention", "--execute", "--keep-unconsumed", "--json"]).out)
        #expect(kept["groups_losing_records"]?.arrayValue?.isEmpty == true)
        let afterKeep = try describe(store, "events")
        #expect(afterKeep[0]["log_start_offset"]!.int64Value! <= 10)
        #expect(afterKeep[1]["bytes"]!.int64Value! <= 4000 + 1024)
        #expect(afterKeep[1]["bytes"]!.int64Value! > 4000 - 1024)
        #expect(kept["partitions"]!.arrayValue![0]["segments_kept_for_groups"]!.intValue! > 0)

        // Without it, partition 0 shrinks too and the group is named before anything goes.
        let run = try store.ok(["retention", "--execute"])
        #expect(run.errorLines.first?.contains("warning: group 'slow' has not consumed offsets 10 to") == true)
        #expect(run.out.contains("retention.bytes"))
        #expect(try describe(store, "events")[0]["bytes"]!.int64Value! <= 4000 + 1024)
    }

    @Test func retentionNeverTouchesTheOffsetsTopic() throws {
        let store = try GroupStore()
        try events(store)
        try store.ok(["topic", "alter", "__consumer_offsets", "-c", "retention.bytes=1"])
        try store.ok(["group", "seek", "g", "--topic", "events", "--to-earliest", "--execute"])
        let offsets = try store.snapshot().filter { $0.key.hasPrefix("__consumer_offsets-") }
        try store.ok(["retention", "--execute"])
        #expect(try store.snapshot().filter { $0.key.hasPrefix("__consumer_offsets-") } == offsets)
        let refused = try store.sluice(["retention", "__consumer_offsets", "--execute"])
        #expect(refused.status == 64 && refused.err.contains("never deletes records of the internal topic '__consumer_offsets'"))
    }

    @Test func deleteRecordsMovesTheLogStartByOffsetOrTime() throws {
        let store = try GroupStore()
        try events(store, partitions: 2)
        try store.ok(["group", "seek", "g", "--topic", "events", "--to-offset", "20", "--execute"])
        let before = try store.snapshot()

        // Without a terminal it asks for nothing: it fails naming the flag that confirms.
        let unconfirmed = try store.sluice(["delete-records", "events", "--before", "120"])
        #expect(unconfirmed.status == 64 && unconfirmed.errorLines.last?.contains("pass --yes to confirm") == true)
        #expect(try store.ok(["delete-records", "events", "--before", "120", "--dry-run"]).out.contains("120"))
        #expect(try store.snapshot() == before)

        let run = try store.ok(["delete-records", "events", "--before", "120", "-p", "0", "--yes", "--json"])
        let done = try JSONValue.parse(run.out)
        #expect(done["partitions"]!.arrayValue!.map { $0["new_log_start_offset"]!.int64Value! } == [120])
        #expect(run.errorLines.contains { $0.contains("group 'g' has not consumed offsets 20 to 119 of events-0 (100 records)") })
        #expect(try String(contentsOfFile: store.path + "/log-start-offset-checkpoint", encoding: .utf8) == "0\n1\nevents 0 120\n")
        let consumed = try offsets(store, "events")
        #expect(consumed[0] == Array(120..<400) && consumed[1] == Array(0..<400))
        #expect(try describe(store, "events").map { $0["log_start_offset"]!.int64Value! } == [120, 0])

        // By time: records older than the 151st record's timestamp.
        try store.ok(["delete-records", "events", "--before", "@\(Self.old / 1000 + 150)", "--yes"])
        #expect(try describe(store, "events").map { $0["log_start_offset"]!.int64Value! } == [150, 150])
        // A point below the start changes nothing; a point past the end is refused.
        #expect(try store.ok(["delete-records", "events", "--before", "5", "--yes", "--json"]).out.contains("\"records_deleted\": 0"))
        let beyond = try store.sluice(["delete-records", "events", "--before", "401", "--yes"])
        #expect(beyond.status == 64 && beyond.err.contains("its log ends at 400"))
        #expect(try store.ok(["verify", "events"]).status == 0)

        // A topic created again under the name starts from scratch.
        try store.ok(["topic", "delete", "events", "--yes"])
        try store.ok(["topic", "create", "events"])
        #expect(try store.sluice(["produce", "events"], stdin: "a\nb\n").status == 0)
        #expect(try describe(store, "events")[0]["log_start_offset"]?.int64Value == 0)
        #expect(try offsets(store, "events")[0] == [0, 1])
    }

    static let badInput: [(String, [String], Int32, String)] = [
        ("unknown topic", ["retention", "nope"], 1, "topic 'nope' does not exist"),
        ("both modes", ["retention", "--execute", "--dry-run"], 64, "--execute and --dry-run cannot be combined"),
        ("no boundary", ["delete-records", "events"], 64, "Missing expected argument '--before"),
        ("malformed boundary", ["delete-records", "events", "--before", "soon", "--yes"], 64, "malformed time 'soon'"),
        ("negative boundary", ["delete-records", "events", "--before=-5", "--yes"], 64, "malformed time '-5'"),
        ("unknown partition", ["delete-records", "events", "--before", "1", "-p", "7", "--yes"], 64, "topic 'events' has no partition 7"),
        (
            "internal topic", ["delete-records", "__consumer_offsets", "--before", "1", "--yes"], 64,
            "never deletes records of the internal topic"
        ),
        ("unknown topic for delete-records", ["delete-records", "nope", "--before", "1", "--yes"], 1, "topic 'nope' does not exist"),
    ]

    @Test func badInputChangesNothing() throws {
        let store = try GroupStore()
        try events(store)
        let before = try store.snapshot()
        for (label, arguments, status, message) in Self.badInput {
            let result = try store.sluice(arguments)
            #expect(result.status == status, "\(label): \(result.err)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(message), "\(label): \(result.err)")
        }
        #expect(try store.snapshot() == before)
    }
}
