import Foundation
import SluiceCore
import TestSupport
import Testing

/// `redistribute` and `topic migrate` given bad input: one `error:` line, the
/// documented exit status, and nothing changed on disk.
@Suite struct RedistributeBadInputTests {
    static let cases: [(String, [String], Int32, String)] = [
        ("start: unknown topic", ["redistribute", "start", "nope", "--group", "g", "--execute"], 1, "topic 'nope' does not exist"),
        ("start: no group", ["redistribute", "start", "s", "--execute"], 64, "--group"),
        ("start: empty group", ["redistribute", "start", "s", "--group", "", "--execute"], 64, "invalid group name ''"),
        ("start: zero factor", ["redistribute", "start", "s", "--group", "g", "--factor", "0", "--execute"], 64, "invalid --factor 0"),
        (
            "start: huge factor", ["redistribute", "start", "s", "--group", "g", "--factor", "5000", "--execute"], 64,
            "invalid --factor 5000"
        ),
        ("start: malformed factor", ["redistribute", "start", "s", "--group", "g", "--factor", "ten"], 64, "ten"),
        (
            "start: unknown strategy", ["redistribute", "start", "s", "--group", "g", "--strategy", "random", "--execute"], 64,
            "unknown strategy 'random'"
        ),
        ("start: bad name", ["redistribute", "start", "s", "--group", "g", "--into", "a/b", "--execute"], 64, "invalid topic name 'a/b'"),
        (
            "start: existing name", ["redistribute", "start", "s", "--group", "g", "--into", "s", "--execute"], 1,
            "topic 's' already exists"
        ),
        (
            "start: colliding name", ["redistribute", "start", "s", "--group", "g", "--into", "t_x", "--execute"], 64,
            "collides with existing topic 't.x'"
        ),
        (
            "start: bad reset", ["redistribute", "start", "s", "--group", "g", "--from", "middle", "--execute"], 64,
            "invalid --from 'middle'"
        ),
        (
            "start: bad checkpoint size", ["redistribute", "start", "s", "--group", "g", "--checkpoint-every", "12x", "--execute"], 64,
            "malformed --checkpoint-every '12x'"
        ),
        (
            "start: bad wait", ["redistribute", "start", "s", "--group", "g", "--wait-inactive", "soon", "--execute"], 64,
            "malformed duration 'soon'"
        ),
        ("start: execute and dry run", ["redistribute", "start", "s", "--group", "g", "--execute", "--dry-run"], 64, "cannot be combined"),
        (
            "start: other arguments than the record",
            ["redistribute", "start", "s", "--group", "g", "--into", "rec", "--strategy", "key", "--execute"], 64,
            "exists with other arguments"
        ),
        ("status: unknown", ["redistribute", "status", "nope"], 1, "there is no redistribution or migration named 'nope'"),
        ("status: bad name", ["redistribute", "status", "../x"], 64, "invalid topic name '../x'"),
        ("finish: unknown", ["redistribute", "finish", "nope"], 1, "there is no redistribution or migration named 'nope'"),
        ("finish: no name", ["redistribute", "finish"], 64, "name"),
        ("finish: bad wait", ["redistribute", "finish", "rec", "--wait-inactive", "later"], 64, "malformed duration 'later'"),
        ("finish: a migration", ["redistribute", "finish", "mig"], 64, "'mig' is a migration"),
        (
            "migrate: unknown topic", ["topic", "migrate", "nope", "--to", "n", "--partitions", "4", "--execute"], 1,
            "topic 'nope' does not exist"
        ),
        ("migrate: no target", ["topic", "migrate", "s", "--partitions", "4", "--execute"], 64, "--to"),
        (
            "migrate: zero partitions", ["topic", "migrate", "s", "--to", "n", "--partitions", "0", "--execute"], 64,
            "invalid partition count 0"
        ),
        ("migrate: itself", ["topic", "migrate", "s", "--to", "s", "--partitions", "4", "--execute"], 64, "--to must name a new topic"),
        (
            "migrate: existing target", ["topic", "migrate", "s", "--to", "t.x", "--partitions", "4", "--execute"], 1,
            "topic 't.x' already exists"
        ),
        (
            "migrate: strategy", ["topic", "migrate", "s", "--to", "n", "--partitions", "4", "--strategy", "source-partition"], 64,
            "unknown strategy 'source-partition'"
        ),
        (
            "migrate: unknown group", ["topic", "migrate", "s", "--to", "n", "--partitions", "4", "--group", "other", "--execute"], 1,
            "group 'other' has no committed offsets on topic 's'"
        ),
        (
            "migrate: group twice",
            ["topic", "migrate", "s", "--to", "n", "--partitions", "4", "--group", "g", "--group", "g", "--execute"], 64, "named twice"
        ),
        ("migrate: bad target name", ["topic", "migrate", "s", "--to", "", "--partitions", "4", "--execute"], 64, "invalid topic name ''"),
    ]

    @Test(arguments: cases)
    func badInputGivesOneLineAndChangesNothing(label: String, arguments: [String], status: Int32, message: String) throws {
        let store = try GroupStore()
        try store.topic("s", counts: [30, 20, 10])
        try store.topic("t.x", counts: [5])
        try store.ok(["group", "seek", "g", "--topic", "s", "--to-offset", "10", "--execute"])
        try store.ok(["redistribute", "start", "s", "--group", "g", "--into", "rec", "--factor", "2", "--execute"])
        try store.ok(["topic", "migrate", "t.x", "--to", "mig", "--partitions", "2", "--execute"])
        let before = try store.snapshot()
        let result = try store.sluice(arguments)
        #expect(result.status == status, "\(label): \(result.err)")
        #expect(result.errorLines.count == 1, "\(label): \(result.errorLines)")
        #expect(result.errorLines.first?.hasPrefix("error: ") == true, "\(label): \(result.errorLines)")
        #expect(result.errorLines.first?.contains(message) == true, "\(label): \(result.errorLines)")
        #expect(try store.snapshot() == before, "\(label) changed the data directory")
    }
}
