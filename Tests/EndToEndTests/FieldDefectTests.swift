import Foundation
import SluiceCore
import TestSupport
import Testing

/// What an on-call user hit (issue 16), the papercuts: each test fails on
/// the binary before the fix. The group consumer's items are in
/// `SlowReaderGroupTests`.
@Suite struct FieldDefectTests {
    /// Item 7: a damaged archive says so, where, and that importing it again cannot help.
    @Test func aDamagedArchiveIsNamedAsDamagedNotAsWorthRetrying() throws {
        let store = try GroupStore()
        try store.topic("a", counts: [3000])
        let archive = store.dir.path + "/a.tar.zst"
        try store.ok(["export", "a", "-o", archive, "--quiet"])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: archive))
        let imported = try store.sluice(["import", archive, "--topic", "b"])
        let line = imported.errorLines.last ?? ""
        #expect(imported.status == 2 && line.contains("is damaged") && line.contains("in its bytes"), "\(imported.err)")
        #expect(line.contains("importing this archive again cannot help") && !line.contains("run the import again"), "\(line)")
    }

    /// Item 17: partition ranges in `--topic`.
    @Test func seekTakesPartitionRanges() throws {
        let store = try GroupStore()
        try store.topic("r", counts: [10, 10, 10, 10, 10])
        try store.ok(["group", "seek", "g", "--topic", "r:0-2,4", "--to-offset", "5", "--execute"])
        #expect(try store.committed("g").compactMapValues { $0 } == ["r-0": 5, "r-1": 5, "r-2": 5, "r-4": 5])
        for bad in ["r:2-1", "r:-1", "r:0-", "r:a-b", "r:0-99999999999"] {
            let refused = try store.sluice(["group", "seek", "g", "--topic", bad, "--to-earliest"])
            #expect(refused.status == 64 && refused.err.contains("invalid --topic"), "\(bad): \(refused.err)")
        }
    }
}

extension FieldDefectTests {
    /// Items 12 and 16: a mistyped topic or group is named with what it may have meant; a seek that
    /// would create a group says so.
    @Test func mistypedNamesGetSuggestionsAndASeekCreatingAGroupWarns() throws {
        let store = try GroupStore()
        try store.topic("orders", counts: [10])
        try store.ok(["consume", "orders", "--group", "billing", "-q"])
        let topic = try store.sluice(["consume", "ordrs"])
        #expect(topic.status == 1 && topic.err.contains("does not exist") && topic.err.contains("(did you mean 'orders'?)"), "\(topic.err)")
        let group = try store.sluice(["lag", "biling"])
        #expect(group.status == 1 && group.err.contains("(did you mean 'billing'?)"), "\(group.err)")
        let seek = try store.sluice(["group", "seek", "biling", "--topic", "orders", "--to-earliest"])
        #expect(
            seek.status == 0
                && seek.err.contains(
                    "warning: group 'biling' has no committed offsets: this seek creates the group (did you mean 'billing'?)"),
            "\(seek.err)")
        for (typed, meant) in [(["consme", "orders"], "consume"), (["group", "seak", "billing"], "seek")] {
            let command = try store.sluice(typed)
            #expect(command.status == 64 && command.err.contains("(did you mean '\(meant)'?)"), "\(command.err)")
        }
        let known = try store.sluice(["group", "seek", "billing", "--topic", "orders", "--to-earliest"])
        #expect(!known.err.contains("warning"), "\(known.err)")
    }

    /// Item 13: `lag --fail-on` exits 2 for partitions in the given statuses, Burrow's spellings included.
    @Test func lagFailsOnChosenStatuses() throws {
        let store = try GroupStore()
        try store.topic("s", counts: [10, 10])
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "4", "--execute"])
        // Lag > 0 and nobody holds the partitions: STOPPED.
        let stopped = try store.sluice(["lag", "g", "--fail-on", "stop", "--quiet"])
        #expect(stopped.status == 2 && stopped.err.contains("group 'g' s-0 is STOPPED") && stopped.err.contains("s-1"), "\(stopped.err)")
        #expect(try store.sluice(["lag", "g", "--fail-on", "ERR", "--quiet"]).status == 2)
        #expect(try store.sluice(["lag", "g", "--fail-on", "STALLED,REWOUND", "--quiet"]).status == 0)
        let bad = try store.sluice(["lag", "g", "--fail-on", "STALLED,SLOW"])
        #expect(bad.status == 64 && bad.err.contains("unknown status 'SLOW'"), "\(bad.err)")
    }

    /// Item 15: `produce -H NAME=VALUE` gives every record of a text input those headers.
    @Test func produceGivesTextRecordsFixedHeaders() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "h"])
        #expect(try store.sluice(["produce", "h", "-H", "source=backfill", "-H", "empty="], stdin: "a\nb\n").status == 0)
        let read = try store.ok(["consume", "h", "--json"])
        for line in read.out.split(separator: "\n") {
            let headers = try JSONValue.parse(String(line))["headers"]?.arrayValue ?? []
            #expect(
                headers.map { "\($0["key"]?.stringValue ?? "")=\($0["value"]?.stringValue ?? "")" } == ["source=backfill", "empty="],
                "\(line)")
        }
        for bad in [["-H", "novalue"], ["-H", "=v"], ["--json", "-H", "a=b"]] {
            #expect(try store.sluice(["produce", "h"] + bad, stdin: "x\n").status == 64, "\(bad)")
        }
    }
}

extension FieldDefectTests {
    /// Item 9: `group list` and `lag` give one answer for a group whose topic was deleted: unknown, not 0.
    @Test func groupListShowsUnknownLagForADeletedTopic() throws {
        let store = try GroupStore()
        try store.topic("gone", counts: [10])
        try store.ok(["group", "seek", "g", "--topic", "gone", "--to-offset", "3", "--execute"])
        try store.ok(["topic", "delete", "gone", "--yes"])
        let listed = try JSONValue.parse(try store.ok(["group", "list", "--json"]).out)["groups"]?.arrayValue?.first {
            $0["group"]?.stringValue == "g"
        }
        #expect(listed?["lag"] == .null, "\(String(describing: listed))")
        let row = try store.ok(["group", "list"]).out.split(separator: "\n").first { $0.hasPrefix("g ") }.map(String.init) ?? ""
        #expect(row.split(separator: " ").contains("-"), "\(row)")
        #expect(try store.lag(["g"])["groups"]?.arrayValue?.first?["lag"] == .null)
    }

    /// Item 10: a time without a zone is UTC whatever TZ says; the help says so and the dry run prints the instant understood.
    @Test func aZonelessTimeIsUTCAndTheDryRunSaysWhichInstant() throws {
        let store = try GroupStore()
        try store.topic("s", counts: [10])
        let dry = try store.sluice(
            ["group", "seek", "g", "--topic", "s", "--to-datetime", "2024-05-01T12:00:00"], environment: ["TZ": "America/New_York"])
        #expect(
            dry.status == 0 && dry.err.contains("target time: 2024-05-01T12:00:00.000Z (1714564800000 ms since the epoch)"), "\(dry.err)")
        for command in [["group", "seek"], ["consume"], ["export"], ["group", "rollback"], ["delete-records"]] {
            let help = try store.ok(command + ["--help"]).out.replacingOccurrences(of: "\n", with: " ").replacing(/\s+/, with: " ")
            #expect(help.contains("without a zone it is UTC"), "\(command)")
        }
    }
}

extension FieldDefectTests {
    /// Item 14: end bounds on consume: `--until TIME`, `--until-offset N`, `--idle-timeout DURATION`.
    @Test func consumeEndsAtItsBounds() throws {
        let store = try GroupStore()
        try store.topic("u", counts: [10, 10])
        let byOffset = try store.ok(["consume", "u", "--until-offset", "3", "--format", "%p %o\\n"]).out
        #expect(byOffset == "0 0\n0 1\n0 2\n1 0\n1 1\n1 2\n")
        // Record i of each partition is stamped 1_700_000_000_000 + i s.
        for until in ["@1700000004", "2023-11-14T22:13:24Z"] {
            let byTime = try store.ok(["consume", "u", "-p", "0", "--until", until, "--format", "%o\\n"]).out
            #expect(byTime == "0\n1\n2\n3\n", "\(until): \(byTime)")
        }
        let started = Date()
        let idle = try store.ok(["consume", "u", "--follow", "--idle-timeout", "500ms", "--format", "%o\\n"])
        #expect(idle.out.split(separator: "\n").count == 20 && Date().timeIntervalSince(started) < 5)
        try store.ok(["consume", "u", "--group", "g", "--until-offset", "4", "-q"])
        #expect(try store.committed("g") == ["u-0": 4, "u-1": 4], "a member stops at its bounds and commits them")
        #expect(try store.sluice(["consume", "u", "--until-offset", "-1"]).status == 64)
    }
}
