import Foundation
import SluiceCore
import TestSupport
import Testing

/// Group commands given bad input: one `error:` line, the documented exit
/// status, and nothing changed on disk.
@Suite struct GroupBadInputTests {
    static let cases: [(String, [String], Int32, String)] = [
        ("unknown group: describe", ["group", "describe", "nope"], 1, "consumer group 'nope' has no committed offsets"),
        ("unknown group: history", ["group", "history", "nope"], 1, "consumer group 'nope' has no committed offsets"),
        ("unknown group: delete", ["group", "delete", "nope"], 1, "consumer group 'nope' has no committed offsets"),
        ("unknown group: lag", ["lag", "nope"], 1, "consumer group 'nope' has no committed offsets"),
        (
            "unknown group: seek all topics", ["group", "seek", "nope", "--all-topics", "--to-earliest", "--execute"], 1,
            "has no committed offsets"
        ),
        ("unknown group: rollback", ["group", "rollback", "nope", "--steps", "1", "--execute"], 1, "has no committed offsets"),
        ("unknown topic: seek", ["group", "seek", "g", "--topic", "nope", "--to-earliest", "--execute"], 1, "topic 'nope' does not exist"),
        ("unknown topic: lag", ["lag", "--topic", "nope"], 1, "topic 'nope' does not exist"),
        (
            "unknown partition: seek", ["group", "seek", "g", "--topic", "s:0,9", "--to-earliest", "--execute"], 64,
            "topic 's' has no partition 9"
        ),
        (
            "two targets", ["group", "seek", "g", "--topic", "s", "--to-earliest", "--to-latest", "--execute"], 64,
            "give exactly one target"
        ),
        ("no target", ["group", "seek", "g", "--topic", "s", "--execute"], 64, "give exactly one target"),
        ("no scope", ["group", "seek", "g", "--to-earliest", "--execute"], 64, "give a scope"),
        ("two scopes", ["group", "seek", "g", "--topic", "s", "--all-topics", "--to-earliest"], 64, "cannot be combined"),
        ("malformed offset", ["group", "seek", "g", "--topic", "s", "--to-offset", "12abc", "--execute"], 64, "malformed offset '12abc'"),
        ("negative offset", ["group", "seek", "g", "--topic", "s", "--to-offset=-3", "--execute"], 64, "malformed offset '-3'"),
        (
            "negative offset, separate", ["group", "seek", "g", "--topic", "s", "--to-offset", "-5", "--execute"], 64,
            "malformed offset '-5'"
        ),
        (
            "negative duration", ["group", "seek", "g", "--topic", "s", "--by-duration", "-1h", "--execute"], 64,
            "duration '-1h' is negative"
        ),
        (
            "malformed time", ["group", "seek", "g", "--topic", "s", "--to-datetime", "yesterday", "--execute"], 64,
            "malformed time 'yesterday'"
        ),
        (
            "malformed duration", ["group", "seek", "g", "--topic", "s", "--by-duration", "soon", "--execute"], 64,
            "malformed duration 'soon'"
        ),
        ("malformed shift", ["group", "seek", "g", "--topic", "s", "--shift-by", "x5", "--execute"], 64, "malformed shift 'x5'"),
        ("malformed partition list", ["group", "seek", "g", "--topic", "s:a", "--to-earliest", "--execute"], 64, "invalid --topic 's:a'"),
        ("missing plan file", ["group", "seek", "g", "--from-file", "/nonexistent/plan.csv", "--execute"], 64, "does not exist"),
        ("garbage plan line", ["group", "seek", "g", "--from-file", "PLAN", "--execute"], 64, "line 2 of "),
        ("rollback without a point", ["group", "rollback", "g", "--execute"], 64, "give exactly one of --to-commit-at"),
        ("rollback zero steps", ["group", "rollback", "g", "--steps", "0", "--execute"], 64, "malformed --steps '0'"),
        ("rollback too many steps", ["group", "rollback", "g", "--steps", "9", "--execute"], 1, "cannot undo 9"),
        ("rollback malformed time", ["group", "rollback", "g", "--to-commit-at", "noon", "--execute"], 64, "malformed time 'noon'"),
        (
            "rollback before history", ["group", "rollback", "g", "--to-commit-at", "2000-01-01", "--execute"], 1,
            "had no committed offsets then"
        ),
        ("malformed threshold", ["lag", "--max-lag", "many"], 64, "malformed --max-lag 'many'"),
        ("bad lag format", ["lag", "--format", "xml"], 64, "--format must be table, json or prometheus"),
        ("empty group name", ["consume", "s", "--group", ""], 64, "invalid group name ''"),
        ("control character", ["consume", "s", "--group", "a\u{1}b"], 64, "invalid group name"),
        ("bad static member", ["consume", "s", "--group", "g", "--member", "3/2"], 64, "invalid --member '3/2'"),
        ("commit options need a group", ["consume", "s", "--commit-every", "5"], 64, "need --group"),
        ("zero commit-every", ["consume", "s", "--group", "g", "--commit-every", "0"], 64, "--commit-every must be at least 1"),
        ("malformed commit interval", ["consume", "s", "--group", "g", "--commit-interval", "often"], 64, "malformed duration 'often'"),
        ("malformed wait", ["group", "delete", "g", "--wait-inactive", "later"], 64, "malformed duration 'later'"),
    ]

    @Test(arguments: cases)
    func badInputGivesOneLineAndChangesNothing(label: String, arguments: [String], status: Int32, message: String) throws {
        let store = try GroupStore()
        try store.topic("s", counts: [30, 20, 10])
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "10", "--execute"])
        let plan = store.dir.file("plan.csv")
        try "s,0,5\ns,1\ns,2,5\n".write(toFile: plan, atomically: true, encoding: .utf8)
        let before = try store.snapshot()
        let result = try store.sluice(arguments.map { $0 == "PLAN" ? plan : $0 })
        #expect(result.status == status, "\(label): \(result.err)")
        #expect(result.errorLines.count == 1, "\(label): \(result.errorLines)")
        #expect(result.errorLines.first?.hasPrefix("error: ") == true, "\(label): \(result.errorLines)")
        #expect(result.errorLines.first?.contains(message) == true, "\(label): \(result.errorLines)")
        #expect(try store.snapshot() == before, "\(label) changed the data directory")
    }
}
