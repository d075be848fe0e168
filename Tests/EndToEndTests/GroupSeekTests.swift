import Foundation
import SluiceCore
import TestSupport
import Testing

/// `group seek` with every target, dry runs, plans, clamping, and rollback.
@Suite struct GroupSeekTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Topic "s": partitions of 100, 50 and 20 records stamped t0 + i seconds; group "g" at offset 10 everywhere.
    func store() throws -> GroupStore {
        let store = try GroupStore()
        try store.topic("s", counts: [100, 50, 20])
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "10", "--execute"])
        return store
    }

    static let targets: [([String], [Int64], [String])] = [
        (["--to-earliest"], [0, 0, 0], []),
        (["--to-beginning"], [0, 0, 0], []),
        (["--to-latest"], [100, 50, 20], []),
        (["--to-end"], [100, 50, 20], []),
        (["--to-offset", "30"], [30, 30, 20], ["s-2: target offset 30 is after the log end 20; using 20"]),
        (["--to-datetime", TimeParsing.formatISO8601(t0 + 25_000)], [25, 25, 20], []),
        (["--to-datetime", String(t0 + 25_500)], [26, 26, 20], []),
        (["--shift-by", "-5"], [5, 5, 5], []),
        (["--shift-by", "+15"], [25, 25, 20], ["s-2: target offset 25 is after the log end 20; using 20"]),
        (["--shift-by", "-50"], [0, 0, 0], ["s-0: target offset -40 is before the log start 0; using 0", "s-2: target offset -40"]),
        (["--to-current"], [10, 10, 10], []),
    ]

    @Test(arguments: targets)
    func eachTargetDryRunThenExecute(target: [String], expected: [Int64], warnings: [String]) throws {
        let store = try store()
        let before = try store.snapshot()
        let dry = try store.sluice(["group", "seek", "g", "--topic", "s", "--json"] + target)
        #expect(dry.status == 0, "\(dry.err)")
        #expect(try store.snapshot() == before, "a dry run changes nothing")
        let plan = try JSONValue.parse(dry.out)
        #expect(plan["executed"]?.boolValue == false)
        #expect(plan["partitions"]?.arrayValue?.map { $0["target"]?.int64Value } == expected.map { $0 })
        #expect(plan["partitions"]?.arrayValue?.map { $0["current"]?.int64Value } == [10, 10, 10])
        for warning in warnings { #expect(dry.err.contains("warning: \(warning)"), "\(dry.err)") }

        let applied = try store.sluice(["group", "seek", "g", "--topic", "s", "--execute"] + target)
        #expect(applied.status == 0, "\(applied.err)")
        #expect(try store.committed("g") == ["s-0": expected[0], "s-1": expected[1], "s-2": expected[2]])
    }

    @Test func byDurationCountsBackFromNow() throws {
        let store = try GroupStore()
        let now = WallClock.nowMillis()
        // Record i is (100 - i) minutes old, less half a minute.
        try store.topic("r", counts: [100], timestamp: { now - Int64(100 - $0) * 60_000 + 30_000 })
        for (duration, expected) in [("30m", Int64(70)), ("PT10M", 90), ("1d", 0), ("1s", 100)] {
            try store.ok(["group", "seek", "d", "--topic", "r", "--by-duration", duration, "--execute"])
            #expect(try store.committed("d") == ["r-0": expected], "--by-duration \(duration)")
        }
    }

    @Test func executeChangesExactlyThePlan() throws {
        let store = try store()
        let table = try store.ok(["group", "seek", "g", "--topic", "s:0,2", "--to-latest", "--execute"]).out
        #expect(table.contains("s              0       10     100     +90\ns              2       10      20     +10"), "\(table)")
        #expect(try store.committed("g") == ["s-0": 100, "s-1": 10, "s-2": 20])
        let history = try JSONValue.parse(try store.ok(["group", "history", "g", "--json"]).out)
        let seeks = history["changes"]!.arrayValue!.filter { $0["detail"]?.stringValue == "--to-latest" }
        #expect(seeks.map { $0["partition"]?.intValue } == [0, 2])
        #expect(seeks.map { $0["previous_offset"]?.int64Value } == [10, 10])
        #expect(Set(seeks.map { $0["operation_id"]?.stringValue }).count == 1, "one atomic change")
        #expect(seeks.allSatisfy { $0["operation"]?.stringValue == "seek" && $0["member"]?.stringValue?.hasPrefix("admin-") == true })
    }

    @Test func exportAndFromFileRoundTrip() throws {
        let store = try store()
        let csv = try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "7", "--export"]).out
        #expect(csv == "s,0,7\ns,1,7\ns,2,7\n")
        let file = store.dir.file("plan.csv")
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try store.committed("g") == ["s-0": 10, "s-1": 10, "s-2": 10], "--export is a dry run")
        try store.ok(["group", "seek", "g", "--from-file", file, "--execute"])
        #expect(try store.committed("g") == ["s-0": 7, "s-1": 7, "s-2": 7])
        // Kafka's multi-group format, and a scope narrowing the file.
        try "g,s,0,3\ng,s,1,4\n".write(toFile: file, atomically: true, encoding: .utf8)
        try store.ok(["group", "seek", "g", "--from-file", file, "--topic", "s:1", "--execute"])
        #expect(try store.committed("g") == ["s-0": 7, "s-1": 4, "s-2": 7])
    }

    @Test func aPlanIsRefusedWhenTheOffsetsMovedAfterIt() throws {
        let store = try store()
        let file = store.dir.file("plan.csv")
        try (try store.ok(["group", "seek", "g", "--topic", "s", "--to-earliest", "--export"]).out).write(
            toFile: file, atomically: true, encoding: .utf8)
        usleep(20_000)
        try store.ok(["group", "seek", "g", "--topic", "s:1", "--to-latest", "--execute"])
        let before = try store.snapshot()
        let refused = try store.sluice(["group", "seek", "g", "--from-file", file, "--execute"])
        #expect(refused.status == 2)
        #expect(
            refused.errorLines.count == 1 && refused.errorLines[0].contains("changed after \(file) was written (s-1)"), "\(refused.err)")
        #expect(try store.snapshot() == before)
        try store.ok(["group", "seek", "g", "--from-file", file, "--execute", "--force"])
        #expect(try store.committed("g") == ["s-0": 0, "s-1": 0, "s-2": 0])
    }

    @Test func rollbackRestoresThePriorOffsets() throws {
        let store = try store()
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-latest", "--execute"])
        usleep(20_000)
        let afterLatest = WallClock.nowMillis()
        usleep(20_000)
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-earliest", "--execute"])
        let dry = try store.ok(["group", "rollback", "g", "--steps", "1"]).out
        #expect(dry.contains("s              0        0     100    +100"), "\(dry)")
        #expect(try store.committed("g") == ["s-0": 0, "s-1": 0, "s-2": 0], "a dry run")
        try store.ok(["group", "rollback", "g", "--steps", "1", "--execute"])
        #expect(try store.committed("g") == ["s-0": 100, "s-1": 50, "s-2": 20])
        try store.ok(["group", "rollback", "g", "--steps", "1", "--execute"])
        #expect(try store.committed("g") == ["s-0": 0, "s-1": 0, "s-2": 0], "a rollback is itself undone")
        try store.ok(["group", "rollback", "g", "--to-commit-at", String(afterLatest), "--execute"])
        #expect(try store.committed("g") == ["s-0": 100, "s-1": 50, "s-2": 20])
        try store.ok(["group", "delete", "g"])
        #expect(try store.sluice(["lag", "g"]).status == 1)
        try store.ok(["group", "rollback", "g", "--steps", "1", "--execute"])
        #expect(try store.committed("g") == ["s-0": 100, "s-1": 50, "s-2": 20])
    }

    @Test func rollbackRemovesOffsetsCommittedAfterThePoint() throws {
        let store = try GroupStore()
        try store.topic("s", counts: [10, 10])
        try store.ok(["group", "seek", "g", "--topic", "s:0", "--to-offset", "4", "--execute"])
        usleep(20_000)
        let point = WallClock.nowMillis()
        usleep(20_000)
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "8", "--execute"])
        let plan = try store.ok(["group", "rollback", "g", "--to-commit-at", String(point), "--execute"]).out
        #expect(plan.contains("removed"), "\(plan)")
        #expect(try store.committed("g") == ["s-0": 4, "s-1": nil])
    }
}
