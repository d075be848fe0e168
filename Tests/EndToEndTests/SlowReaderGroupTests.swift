import Foundation
import SluiceCore
import TestSupport
import Testing

/// `sluice ARGS | READER > out`, where the reader takes about
/// `linesPerSecond` lines a second (a downstream service), with sluice's pid
/// so signals reach sluice alone.
final class SlowReaderPipeline {
    let dir = TemporaryDirectory("sluice-slow-reader")
    let shell = Process()
    private(set) var pid: Int32 = 0

    static let reader = """
        import os, sys, time
        open(sys.argv[2], "w").write(str(os.getpid()))
        rate = int(sys.argv[1]); chunk = max(1, rate // 20); out = sys.stdout.buffer; n = 0
        for line in sys.stdin.buffer:
            out.write(line); n += 1
            if n % chunk == 0:
                out.flush(); time.sleep(chunk / rate)
        out.flush()
        """

    init(_ arguments: [String], dataDir: String, linesPerSecond: Int) throws {
        try Self.reader.write(toFile: dir.path + "/reader.py", atomically: true, encoding: .utf8)
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let sluice = ([SluiceProcess.binary] + arguments).map(quoted).joined(separator: " ")
        let d = quoted(dir.path)
        let inner = quoted("echo $$ > \(dir.path)/pid; exec \(sluice)")
        let script =
            "(sh -c \(inner) 2> \(d)/err; echo $? > \(d)/status) | python3 \(d)/reader.py \(linesPerSecond) \(d)/reader.pid > \(d)/out"
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_DATA_DIR"] = dataDir
        shell.environment = environment
        try shell.run()
        try waitUntil(10, "sluice started") {
            (try? String(contentsOfFile: dir.path + "/pid", encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }.map {
                pid = $0; return true
            } ?? false
        }
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Sends `signal` to the reader (SIGSTOP: it stops taking anything).
    func signalReader(_ signal: Int32) throws {
        guard let text = try? String(contentsOfFile: dir.path + "/reader.pid", encoding: .utf8), let reader = Int32(text) else {
            throw Failure("the reader has not started")
        }
        kill(reader, signal)
    }

    /// Waits for the pipeline; sluice's exit status, what the reader wrote, sluice's stderr.
    func finish() throws -> (status: Int32, out: String, err: String) {
        shell.waitUntilExit()
        let status =
            Int32((try String(contentsOfFile: dir.path + "/status", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        return (
            status, try String(contentsOfFile: dir.path + "/out", encoding: .utf8),
            try String(contentsOfFile: dir.path + "/err", encoding: .utf8)
        )
    }
}

/// The group consumer under a slow reader of its output (issue 16, items 1–3):
/// dynamic members that join when every partition is taken, commits on a
/// wall-clock interval, and a second SIGTERM while a write is blocked.
@Suite(.serialized) struct SlowReaderGroupTests {
    /// Offsets per partition of lines that start "PARTITION OFFSET ".
    func offsets(_ output: String) -> [Int: [Int64]] {
        offsetsByPartition(
            output.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.joined(separator: "\n"))
    }

    @Test func dynamicMembersStartedTogetherEachGetAShareAndStayUntilTheGroupHasDrained() throws {
        let store = try GroupStore()
        // Big enough that the pipes' buffers (64 KiB each) hold a small part of it.
        let partitions = 6, records = 10_000
        try store.topic("D", counts: [Int](repeating: records, count: partitions))
        let members = try (0..<partitions).map { _ in
            try SlowReaderPipeline(
                ["consume", "D", "--group", "D.drain", "--format", "%p %o %T %v\\n"], dataDir: store.path, linesPerSecond: 5000)
        }
        var seen: [Int: [Int64]] = [:]
        for member in members {
            let result = try member.finish()
            #expect(result.status == 0, "\(result.err)")
            let got = offsets(result.out)
            #expect(!got.isEmpty, "a member that joined when every partition was taken printed nothing and quit")
            for (p, o) in got { seen[p, default: []] += o }
        }
        for p in 0..<partitions {
            let got = seen[p, default: []]
            #expect(
                got.count == records && Set(got) == Set(0..<Int64(records)),
                "partition \(p): \(got.count) records, \(Set(got).count) distinct")
        }
        #expect(try store.lag(["D.drain"])["groups"]?.arrayValue?.first?["lag"]?.int64Value == 0)
    }

    @Test func commitsFollowTheIntervalHoweverSlowTheReader() throws {
        let store = try GroupStore()
        try store.topic("C", counts: [20_000, 20_000])
        let member = try SlowReaderPipeline(
            ["consume", "C", "--group", "C", "--commit-interval", "1s", "--format", "%p %o\\n"],
            dataDir: store.path, linesPerSecond: 2000)
        let started = Date()
        try store.waitUntil(3, "a first commit") { try !store.committed("C").isEmpty }
        let first = try store.committed("C").values.compactMap { $0 }.reduce(0, +)
        try store.waitUntil(3, "a second commit") { try store.committed("C").values.compactMap { $0 }.reduce(0, +) > first }
        #expect(Date().timeIntervalSince(started) < 6)
        member.signal(SIGKILL)
        let killed = try member.finish()
        let resumed = try store.ok(["consume", "C", "--group", "C", "--format", "%p %o\\n"])
        var seen = offsets(killed.out)
        for (p, o) in offsets(resumed.out) { seen[p, default: []] += o }
        let again = seen.values.map { o in o.count - Set(o).count }.reduce(0, +)
        #expect(again < 6000, "\(again) records read again after a kill: more than about two intervals' worth")
        for p in 0..<2 { #expect(Set(seen[p] ?? []).count == 20_000, "partition \(p): nothing skipped") }
    }

    /// A stopping writer finishes a write it began while the reader takes it, but not for a reader that takes nothing.
    @Test func aStoppingWriterGivesUpOnAReaderThatTakesNothing() throws {
        let store = try GroupStore()
        try store.topic("S", counts: [60_000])
        let member = try SlowReaderPipeline(["consume", "S", "--json"], dataDir: store.path, linesPerSecond: 2000)
        usleep(1_000_000)
        try member.signalReader(SIGSTOP)
        member.signal(SIGTERM)
        usleep(20_000)
        member.signal(SIGTERM)
        let started = Date()
        try waitUntil(15, "sluice to stop") { kill(member.pid, 0) != 0 }
        let waited = Date().timeIntervalSince(started)
        try member.signalReader(SIGCONT)
        let result = try member.finish()
        #expect(waited < 12, "stopped after \(waited) s")
        #expect(result.status == 1 && result.err.contains("took nothing for 5 s"), "\(result.err)")
    }

    /// A member waiting for the group (item 1) does not wait forever for a partition held by a member that never commits.
    @Test func aMemberStopsWaitingForPartitionsNobodyCommits() throws {
        let store = try GroupStore()
        try store.topic("N", counts: [100, 100])
        let holder = try store.start(["consume", "N", "--group", "N", "--partition", "0", "--no-commit", "--follow", "-q"])
        defer { holder.kill() }
        try store.waitUntil(10, "the holder to join") { try store.sluice(["group", "describe", "N"]).out.contains("active") }
        let started = Date()
        let waiting = try store.sluice(["consume", "N", "--group", "N", "--commit-interval", "1s", "--format", "%p %o\\n"])
        #expect(waiting.status == 0 && waiting.err.contains("has not moved partitions 0 of N"), "\(waiting.err)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(waiting.out.split(separator: "\n").count == 100, "it read partition 1")
    }

    @Test(arguments: [1_000_000, 1_500_000, 2_200_000] as [UInt32])
    func aSecondSIGTERMWhileAWriteIsBlockedLeavesWholeRecordsEachOnce(after micros: UInt32) throws {
        let store = try GroupStore()
        try store.topic("T", counts: [60_000])
        let member = try SlowReaderPipeline(["consume", "T", "--group", "T", "--json"], dataDir: store.path, linesPerSecond: 2000)
        usleep(micros)
        // As `timeout` does (to the child, then to its process group): twice, close together, while a write is blocked.
        member.signal(SIGTERM)
        usleep(20_000)
        member.signal(SIGTERM)
        let result = try member.finish()
        #expect(result.status == 0 || result.status == 1, "\(result.err)")
        var next: Int64 = 0
        for line in result.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let record = try? JSONValue.parse(String(line))
            guard record?["offset"]?.int64Value == next && record?["value"]?.stringValue == "0-\(next)" else {
                Issue.record("record \(next) is not whole or not in order: \(line.prefix(200))")
                break
            }
            next += 1
        }
        #expect(result.out.isEmpty || result.out.hasSuffix("\n"), "the output ends with a whole record")
        #expect(try store.committed("T")["T-0"] == next, "the commit covers exactly what was written")
    }
}
