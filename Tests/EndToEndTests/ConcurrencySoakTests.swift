import Foundation
import SluiceCore
import TestSupport
import Testing

/// Many processes on one data directory at once (docs/ARCHITECTURE.md §3): producers
/// (short runs, one after another, each keyed so every partition is
/// written by all of them), consumers in two groups whose members come and
/// go, and administrative commands (config changes, a partition added, seeks
/// of a third group, exports, verify and verify --repair) for a bounded time. Afterwards every produced
/// record is in the topic exactly once and in order per producer, each group
/// read every offset exactly once across its members (a partition read by
/// two members at once, or given up before its records were committed,
/// shows as an offset read twice), and `verify` is clean.
///
/// `make test` soaks for a few seconds; `make test-crash` for `SLUICE_SOAK_SECONDS` (default 120).
@Suite struct ConcurrencySoakTests {
    static let seconds: Double =
        Double(ProcessInfo.processInfo.environment["SLUICE_SOAK_SECONDS"] ?? "")
        ?? (Reliability.isLongForm ? 120 : 6)

    @Test func producersConsumersAndAdministratorsTogether() throws {
        let store = try GroupStore()
        let data = store.path
        try Reliability.ok(["topic", "create", "soak", "-p", "4", "-c", "segment.bytes=65536"], data)
        let soak = Soak(data: data, scratch: store.dir.path, seconds: Self.seconds)
        try soak.run()
        print(soak.summary)
        CrashMatrix.append(soak.summary)
        for failure in soak.failures { Issue.record(Comment(rawValue: failure)) }
    }

    /// Found by the soak: members kept the partition count they started with.
    @Test func aRunningMemberTakesUpPartitionsAddedToTheTopic() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "grow"])
        let member = try store.start([
            "consume", "grow", "--group", "g", "--follow", "--format", "%p %o %v\\n", "--commit-interval", "100ms",
        ])
        try store.waitUntil(20, "the member's lease") { try store.sluice(["group", "describe", "g", "--json"]).out.contains("\"pid\"") }
        try store.ok(["topic", "alter", "grow", "-p", "2"])
        #expect(try store.sluice(["produce", "grow", "-p", "1"], stdin: "late\n").status == 0)
        try store.waitUntil(20, "the member to read the new partition") { (try store.committed("g")["grow-1"] ?? nil) == 1 }
        member.kill(SIGTERM)
        let result = try member.finish()
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "1 0 late\n")
    }
}

/// One soak run; its loops run on threads and record what they did.
final class Soak: @unchecked Sendable {
    let data: String
    let scratch: String
    let seconds: Double
    private let lock = NSLock()
    private(set) var failures: [String] = []
    private var produced: [String] = []
    private var chunks = 0
    private var adminRuns: [String: Int] = [:]
    private var consumerOutputs: [String: [String]] = [:]
    static let producers = 3

    init(data: String, scratch: String, seconds: Double) {
        self.data = data
        self.scratch = scratch
        self.seconds = seconds
    }

    func fail(_ message: String) { lock.lock(); failures.append(message); lock.unlock() }

    var summary: String {
        lock.lock(); defer { lock.unlock() }
        let admin = adminRuns.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return
            """
            soak: \(Int(seconds)) s, \(Self.producers) producers (\(chunks) runs, \(produced.count) records), \
            consumers in 2 groups (\(consumerOutputs.count) member runs), admin: \(admin); \(failures.count) failures
            """
    }

    func run() throws {
        let deadline = Date().addingTimeInterval(seconds)
        // Members: a1 and b1, b2 for the whole run; a2 joins for the middle third; a3 for the second half.
        var members: [(name: String, group: String, from: Double, to: Double)] = [
            ("a1", "A", 0, 1), ("a2", "A", 1.0 / 3, 2.0 / 3), ("a3", "A", 0.5, 1), ("b1", "B", 0, 1), ("b2", "B", 0, 1),
        ]
        members.sort { $0.from < $1.from }
        let threads =
            (0..<Self.producers).map { w in spawn { self.produceLoop(w, until: deadline) } }
            + [spawn { self.adminLoop(until: deadline) }]
            + members.map { m in
                spawn {
                    self.member(
                        m.name, group: m.group, start: deadline.addingTimeInterval(-self.seconds * (1 - m.from)),
                        stop: m.to < 1 ? deadline.addingTimeInterval(-self.seconds * (1 - m.to)) : nil,
                        deadline: deadline)
                }
            }
        for thread in threads { thread.wait() }
        try check()
    }

    // MARK: - the loops

    private func produceLoop(_ w: Int, until deadline: Date) {
        var chunk = 0
        while Date() < deadline {
            var lines = "", values: [String] = []
            for n in 0..<1500 {
                let value = "w\(w)-c\(chunk)-n\(n)"
                values.append(value)
                lines += "key-\(n % 101)|\(value)\n"
            }
            do {
                let result = try Reliability.run(
                    ["produce", "soak", "-K", "|", "--batch-size", "4096", "--quiet"] + (chunk % 2 == 0 ? [] : ["--compression", "zstd"]),
                    data, stdin: Data(lines.utf8))
                guard result.status == 0 else { fail("producer \(w) chunk \(chunk) exited \(result.status): \(result.err)"); break }
            } catch {
                fail("producer \(w) chunk \(chunk): \(error)")
                break
            }
            lock.lock(); produced += values; chunks += 1; lock.unlock()
            chunk += 1
        }
        lock.lock(); finishedProducers += 1; lock.unlock()
    }

    private func adminLoop(until deadline: Date) {
        var round = 0
        var grown = false
        while Date() < deadline {
            let archive = scratch + "/soak-\(round).tar.zst"
            var steps: [(String, [String])] = [
                ("alter-config", ["topic", "alter", "soak", "-c", "retention.ms=\(86_400_000 + round)"]),
                ("seek-other-group", ["group", "seek", "other", "--topic", "soak", "--to-latest", "--execute"]),
                ("export", ["export", "soak", "-o", archive, "--quiet"]),
                ("archive-verify", ["archive", "verify", archive]),
                ("verify", ["verify", "soak"]),
                ("verify-repair", ["verify", "--repair", "soak"]),
            ]
            if !grown && Date() > deadline.addingTimeInterval(-seconds / 2) {
                steps.append(("add-partitions", ["topic", "alter", "soak", "-p", "6"]))
                grown = true
            }
            for (name, arguments) in steps {
                do {
                    // verify sees a consistent tail whatever writers do, so it finds nothing, and --repair repairs nothing.
                    let result = try Reliability.run(arguments, data)
                    if result.status != 0 || (name == "verify-repair" && result.out.contains("repaired")) {
                        fail("\(name) exited \(result.status): \(result.out.suffix(300)) \(result.err.suffix(300))")
                    }
                } catch {
                    fail("\(name): \(error)")
                }
                lock.lock(); adminRuns[name, default: 0] += 1; lock.unlock()
            }
            try? FileManager.default.removeItem(atPath: archive)
            round += 1
        }
    }

    /// A member runs from `start`; a member with a `stop` is stopped then
    /// (SIGTERM, a clean leave), the others once their group caught up after `deadline`.
    private func member(_ name: String, group: String, start: Date, stop: Date?, deadline: Date) {
        Thread.sleep(until: start)
        do {
            let running = try SluiceProcess.start(
                [
                    "consume", "soak", "--group", group, "--follow", "--format", "%p %o %v\\n",
                    "--commit-interval", "200ms",
                ], dataDir: data)
            if let stop {
                Thread.sleep(until: stop)
            } else {
                Thread.sleep(until: deadline)
                try waitForNoLag(group)
            }
            running.kill(SIGTERM)
            let result = try running.finish()
            try Reliability.requireNoCrash(result, ["consume", "--group", group])
            if result.status != 0 { fail("member \(name) exited \(result.status): \(result.err.suffix(300))") }
            lock.lock(); consumerOutputs["\(group) \(name)"] = result.out.split(separator: "\n").map(String.init); lock.unlock()
        } catch {
            fail("member \(name): \(error)")
        }
    }

    /// Waits until the producers are done and `group` has committed the end of every partition.
    private func waitForNoLag(_ group: String) throws {
        let limit = Date().addingTimeInterval(120 * testSlowdown)
        while Date() < limit {
            let result = try Reliability.run(["lag", "--json", group], data)
            if result.status == 0, let lag = try JSONValue.parse(result.out)["groups"]?.arrayValue?.first?["lag"]?.int64Value, lag == 0,
                producersDone()
            {
                return
            }
            usleep(200_000)
        }
        throw TrialFailure("group \(group) did not catch up within 120 s")
    }

    private var finishedProducers = 0
    private func producersDone() -> Bool {
        // Every producer thread has returned once its last chunk is recorded after the deadline.
        lock.lock(); defer { lock.unlock() }
        return finishedProducers == Self.producers
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) -> Joinable {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body(); done.signal()
        }
        thread.start()
        return Joinable(done: done)
    }

    struct Joinable {
        let done: DispatchSemaphore
        func wait() { done.wait() }
    }

    // MARK: - the checks

    private func check() throws {
        // Every record exactly once, each producer's records in order per partition.
        let topic = try Reliability.ok(["consume", "soak", "--format", "%p %o %v\\n"], data).out.split(separator: "\n")
        var seen: [String: Int] = [:]
        var last: [String: (chunk: Int, n: Int)] = [:]
        for line in topic {
            let fields = line.split(separator: " ")
            let value = String(fields[2])
            seen[value, default: 0] += 1
            let parts = value.split(separator: "-")
            let key = "\(fields[0]) \(parts[0])", position = (Int(parts[1].dropFirst())!, Int(parts[2].dropFirst())!)
            if let before = last[key], before >= position {
                fail("partition \(fields[0]): \(value) after \(parts[0])-c\(before.chunk)-n\(before.n)")
            }
            last[key] = position
        }
        let duplicates = seen.filter { $0.value > 1 }.keys.sorted()
        let missing = produced.filter { seen[$0] == nil }
        if !duplicates.isEmpty { fail("records stored twice: \(duplicates.prefix(5))") }
        if !missing.isEmpty { fail("acknowledged records missing: \(missing.count), e.g. \(missing.prefix(5))") }
        if seen.count != produced.count { fail("\(seen.count) distinct records stored, \(produced.count) produced") }

        // Each group read every offset of every partition exactly once across its members.
        var ends: [Int: Int64] = [:]
        for line in topic {
            let f = line.split(separator: " ")
            ends[Int(f[0])!] = max(ends[Int(f[0])!] ?? 0, Int64(f[1])! + 1)
        }
        for group in ["A", "B"] {
            var reads: [String: Int] = [:]
            for (member, lines) in consumerOutputs where member.hasPrefix(group + " ") {
                for line in lines { reads[String(line.split(separator: " ").prefix(2).joined(separator: " ")), default: 0] += 1 }
            }
            let twice = reads.filter { $0.value > 1 }.keys.sorted()
            if !twice.isEmpty { fail("group \(group) read offsets more than once (overlapping members?): \(twice.prefix(5))") }
            for (p, end) in ends {
                let unread = (0..<end).filter { reads["\(p) \($0)"] == nil }
                if !unread.isEmpty { fail("group \(group) never read \(unread.count) offsets of partition \(p), e.g. \(unread.prefix(5))") }
            }
        }
        let problems = try Reliability.problems(data)
        if !problems.isEmpty { fail("verify after the soak: \(problems.prefix(5))") }
    }
}
