import Foundation
import SluiceCore
import TestSupport
import Testing

/// Every command given bad input: one clear `error:` line, the documented exit
/// status, and nothing changed on disk.
@Suite struct BadInputTests {
    /// A data directory holding topic "t" (3 partitions, 100 records in partition 0).
    func store() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "t", "-p", "3"], dataDir: dir.path)
        try SluiceProcess.run(
            ["produce", "t", "-p", "0"], dataDir: dir.path, stdin: Data((0..<100).map(String.init).joined(separator: "\n").utf8))
        return dir
    }

    static let cases: [(String, [String], Int32, String)] = [
        ("unknown topic: produce", ["produce", "nope"], 1, "topic 'nope' does not exist"),
        ("unknown topic: consume", ["consume", "nope"], 1, "topic 'nope' does not exist"),
        ("unknown topic: describe", ["topic", "describe", "nope"], 1, "topic 'nope' does not exist"),
        ("unknown topic: alter", ["topic", "alter", "nope", "-p", "5"], 1, "topic 'nope' does not exist"),
        ("unknown topic: delete", ["topic", "delete", "nope", "--yes"], 1, "topic 'nope' does not exist"),
        ("unknown topic: verify", ["verify", "nope"], 1, "topic 'nope' does not exist"),
        ("bad partition: consume", ["consume", "t", "-p", "7"], 64, "has no partition 7"),
        ("bad partition: produce", ["produce", "t", "-p", "3"], 64, "has no partition 3"),
        ("negative partition count", ["topic", "create", "u", "-p", "0"], 64, "invalid partition count 0"),
        ("decreasing partitions", ["topic", "alter", "t", "-p", "2"], 64, "cannot decrease topic 't' from 3 to 2"),
        ("same partitions", ["topic", "alter", "t", "-p", "3"], 64, "already has 3 partitions"),
        ("existing topic", ["topic", "create", "t"], 1, "already exists"),
        ("illegal topic name", ["topic", "create", "../escape"], 64, "invalid topic name"),
        ("unknown config", ["topic", "create", "u", "-c", "flush.ms=1"], 64, "unknown topic config 'flush.ms'"),
        ("malformed config", ["topic", "alter", "t", "-c", "retention.ms"], 64, "malformed config"),
        ("malformed time", ["consume", "t", "--from", "@yesterday"], 64, "malformed time 'yesterday'"),
        ("malformed offset", ["consume", "t", "--from", "12abc"], 64, "invalid start position '12abc'"),
        ("malformed duration", ["produce", "t", "--sync-interval", "soon"], 64, "malformed duration 'soon'"),
        ("bad format", ["consume", "t", "--format", "%q"], 64, "unknown directive '%q'"),
        ("bad compression", ["produce", "t", "--compression", "brotli"], 64, "--compression must be none or zstd"),
        ("unknown option", ["consume", "t", "--bogus"], 64, "Unknown option '--bogus'"),
        ("missing argument", ["topic", "create"], 64, "Missing expected argument"),
        ("delete without terminal", ["topic", "delete", "t"], 64, "pass --yes to confirm"),
        ("dump of nothing", ["dump", "/nonexistent/file.log"], 64, "does not exist"),
        ("bad lock timeout", ["topic", "list", "--lock-timeout", "forever"], 64, "malformed duration 'forever'"),
        // Negative numbers reach the check that says what is wrong with them, not "Missing value" (issue 16, item 6).
        ("negative partition: consume", ["consume", "t", "--partition", "-1"], 64, "has no partition -1"),
        ("negative partition: produce", ["produce", "t", "-p", "-1"], 64, "has no partition -1"),
        ("negative count", ["consume", "t", "-c", "-5"], 64, "--max-messages must be at least 1"),
        ("negative lag seconds", ["lag", "--max-lag-seconds", "-1"], 64, "malformed --max-lag-seconds '-1'"),
        ("negative duration", ["produce", "t", "--sync-interval", "-1s"], 64, "duration '-1s' is negative"),
        ("negative export end", ["export", "t", "--to-offset", "-3", "-o", "/dev/null"], 64, "--to-offset must not be negative"),
        ("negative partition count", ["topic", "create", "u", "-p", "-2"], 64, "invalid partition count -2"),
    ]

    @Test(arguments: cases)
    func badInputGivesOneLineAndChangesNothing(label: String, arguments: [String], status: Int32, message: String) throws {
        let dir = try store()
        let before = try snapshotFiles(dir.path)
        let result = try SluiceProcess.run(arguments, dataDir: dir.path, stdin: Data("x\n".utf8))
        #expect(result.status == status, "\(label): \(result.err)")
        let lines = result.errorLines
        #expect(lines.count == 1, "\(label): \(lines)")
        #expect(lines.first?.hasPrefix("error: ") == true, "\(label): \(lines)")
        #expect(lines.first?.contains(message) == true, "\(label): \(lines)")
        #expect(try snapshotFiles(dir.path) == before, "\(label) changed the data directory")
    }

    @Test func malformedJSONInputNamesTheLine() throws {
        let dir = try store()
        let before = try snapshotFiles(dir.path)
        let result = try SluiceProcess.run(
            ["produce", "t", "--json"], dataDir: dir.path, stdin: Data("{\"value\":\"ok\"}\n{\"value\": nope}\n".utf8))
        #expect(result.status == 64)
        #expect(result.errorLines.first?.contains("line 2 of the input") == true, "\(result.err)")
        #expect(try snapshotFiles(dir.path) == before)
    }

    @Test func flippedBitInTheMiddleOfASegment() throws {
        let dir = try store()
        try SluiceProcess.run(
            ["produce", "t", "-p", "0", "--batch-size", "64"], dataDir: dir.path,
            stdin: Data((0..<2000).map { "more-\($0)" }.joined(separator: "\n").utf8))
        let log = dir.path + "/t-0/00000000000000000000.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: log))
        let before = try snapshotFiles(dir.path)

        let consume = try SluiceProcess.run(["consume", "t", "-p", "0"], dataDir: dir.path)
        #expect(consume.status == 2)
        #expect(consume.errorLines.count == 1)
        #expect(
            consume.errorLines.first?.contains("corrupt log in partition t-0, segment 00000000000000000000.log") == true, "\(consume.err)")
        #expect(consume.errorLines.first?.contains("byte ") == true)
        let verify = try SluiceProcess.run(["verify", "t"], dataDir: dir.path)
        #expect(verify.status == 2)
        #expect(verify.out.contains("t-0 00000000000000000000.log byte"))
        #expect(try snapshotFiles(dir.path) == before)

        let repair = try SluiceProcess.run(["verify", "t", "--repair"], dataDir: dir.path)
        #expect(repair.status == 0, "\(repair.out)\(repair.err)")
        #expect(try SluiceProcess.run(["verify"], dataDir: dir.path).status == 0)
        let kept = try FileManager.default.subpathsOfDirectory(atPath: dir.path + "/.sluice/repairs")
        #expect(kept.contains { $0.hasSuffix(".log.from-byte-\(0)") == false && $0.contains(".from-byte-") })
    }

    func snapshotFiles(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: path) {
            var isDir: ObjCBool = false
            let full = path + "/" + sub
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue, !sub.hasSuffix(".lock") {
                out[sub] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return out
    }
}
