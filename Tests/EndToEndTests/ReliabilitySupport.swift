import Foundation
import SluiceCore
import TestSupport

/// Shared pieces of the reliability suite (crash matrix, corruption trials,
/// concurrency soak, security tests): a known store, commands that must never
/// crash, and probes that read a store back through the CLI.
enum Reliability {
    /// Trials per case: the short form inside `make test`, `SLUICE_CRASH_TRIALS`
    /// (set by `make test-crash`) for the long form.
    static func trials(short: Int) -> Int {
        Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_TRIALS"] ?? "") ?? short
    }

    /// Whether the long form runs (`make test-crash`).
    static var isLongForm: Bool { ProcessInfo.processInfo.environment["SLUICE_CRASH_TRIALS"] != nil }

    /// The base seed, `SLUICE_CRASH_SEED` to reproduce a reported failure.
    static func seed(_ fallback: UInt64) -> UInt64 {
        UInt64(ProcessInfo.processInfo.environment["SLUICE_CRASH_SEED"] ?? "") ?? fallback
    }

    /// Runs sluice; a death by signal (other than one the caller sends) or a
    /// Swift runtime trap is a failure whatever the exit status.
    @discardableResult
    static func run(_ arguments: [String], _ dataDir: String, stdin: Data? = nil, environment: [String: String] = [:]) throws
        -> SluiceProcess.Result
    {
        let result = try SluiceProcess.run(arguments, dataDir: dataDir, stdin: stdin, environment: environment)
        try requireNoCrash(result, arguments)
        return result
    }

    static func requireNoCrash(_ result: SluiceProcess.Result, _ arguments: [String]) throws {
        let trapped = ["Fatal error", "Stack dump", "Illegal instruction", "Segmentation fault", "AddressSanitizer", "ThreadSanitizer"]
            .first { result.err.contains($0) }
        if result.status < 0 || ![0, 1, 2, 64].contains(result.status) || trapped != nil {
            throw TrialFailure("sluice \(arguments.joined(separator: " ")) crashed (status \(result.status)): \(result.err.suffix(600))")
        }
    }

    /// Runs a command that must succeed.
    @discardableResult
    static func ok(_ arguments: [String], _ dataDir: String, stdin: Data? = nil) throws -> SluiceProcess.Result {
        let result = try run(arguments, dataDir, stdin: stdin)
        guard result.status == 0 else {
            throw TrialFailure("sluice \(arguments.joined(separator: " ")) exited \(result.status): \(result.err.suffix(600))")
        }
        return result
    }

    /// `consume TOPIC` as "p o key value" lines, sorted by partition then
    /// offset; the consume must succeed.
    static func records(_ topic: String, _ dataDir: String, partition: Int? = nil) throws -> [String] {
        let result = try ok(["consume", topic, "--format", "%p %o %k %v\\n"] + (partition.map { ["-p", String($0)] } ?? []), dataDir)
        return sortedLines(result.out)
    }

    static func sortedLines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).sorted { a, b in
            let x = a.split(separator: " ", maxSplits: 2), y = b.split(separator: " ", maxSplits: 2)
            return (Int(x[0]) ?? 0, Int64(x[1]) ?? 0) < (Int(y[0]) ?? 0, Int64(y[1]) ?? 0)
        }
    }

    /// A group's committed offsets by partition of `topic` (empty: none).
    static func committed(_ group: String, topic: String, _ dataDir: String) throws -> [Int: Int64] {
        let result = try run(["lag", "--json", group], dataDir)
        if result.status != 0 {
            if result.err.contains("has no committed offsets") || result.err.contains("no consumer group") { return [:] }
            throw TrialFailure("lag \(group) exited \(result.status): \(result.err)")
        }
        var out: [Int: Int64] = [:]
        for entry in try JSONValue.parse(result.out)["groups"]?.arrayValue?.first?["topics"]?.arrayValue ?? []
        where entry["topic"]?.stringValue == topic {
            for row in entry["partitions"]?.arrayValue ?? [] {
                if let offset = row["committed_offset"]?.int64Value { out[row["partition"]!.intValue!] = offset }
            }
        }
        return out
    }

    /// `topic describe --json`, nil when the topic does not exist.
    static func describe(_ topic: String, _ dataDir: String) throws -> JSONValue? {
        let result = try run(["topic", "describe", topic, "--json"], dataDir)
        if result.status != 0 {
            guard result.err.contains("does not exist") else { throw TrialFailure("topic describe \(topic): \(result.err)") }
            return nil
        }
        return try JSONValue.parse(result.out)
    }

    /// The problems `verify --json` lists (kinds and messages); `verify` must not fail otherwise.
    static func problems(_ dataDir: String, _ topics: [String] = []) throws -> [String] {
        let result = try run(["verify", "--json"] + topics, dataDir)
        guard result.status == 0 || result.status == 2, let json = try? JSONValue.parse(result.out) else {
            throw TrialFailure("verify \(topics) exited \(result.status): \(result.err.suffix(600))")
        }
        return (json["partitions"]?.arrayValue ?? []).flatMap { partition in
            (partition["problems"]?.arrayValue ?? []).map {
                """
                \($0["partition"]?.stringValue ?? "") \($0["file"]?.stringValue ?? "") \
                \($0["kind"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")
                """
            }
        }
    }

    /// Every file under `path` (relative) with its bytes; lock files, staging
    /// (which the next command cleans) and the group liveness area left out.
    static func snapshot(_ path: String) throws -> [String: Data] {
        try ArchiveStore.snapshot(path).filter { !$0.key.hasPrefix(".sluice/groups/live/") }
    }

    static func copy(_ from: String, to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Directory entries whose names start with `prefix` (partition directories of a topic).
    static func entries(_ dataDir: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDir)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }
}

/// A reliability check that did not hold; the harness adds the seed and trial.
struct TrialFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The known store every reliability test starts from, built once per test
/// process with the CLI and copied for each trial:
///
/// - topic `t`, 3 partitions of 64 KiB segments, each holding
///   `recordsPerPartition` records: the first half written uncompressed, the
///   rest zstd-compressed, record i of partition p keyed `k<p>-<i>` with value
///   `v<p>-<i>-` padded (so its content is known from its offset);
/// - group `g` that consumed part of `t` and was then moved back by an
///   administrative seek (history to roll back), and a bystander group `h`;
/// - topic `dest` (3 partitions, a few records in 0 and 1) to append to;
/// - `t.tar.zst`, an export of `t`, next to the store.
enum KnownStore {
    static let recordsPerPartition = 1500
    static let partitions = 3

    static func value(_ p: Int, _ i: Int) -> String { "v\(p)-\(i)-" + String(repeating: "x", count: 20 + (i * 7 + p) % 40) }

    /// The line `Reliability.records` gives for record i of partition p.
    static func line(_ p: Int, _ i: Int) -> String { "\(p) \(i) k\(p)-\(i) \(value(p, i))" }

    static var allLines: [String] {
        (0..<partitions).flatMap { p in (0..<recordsPerPartition).map { line(p, $0) } }
    }

    /// A directory holding `store/` and `t.tar.zst`.
    static let template: String = {
        let root = NSTemporaryDirectory() + "/sluice-known-store-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let store = root + "/store"
        try! Reliability.copy(GroupStore.template, to: store)
        func must(_ arguments: [String], stdin: String? = nil) {
            let result = try! SluiceProcess.run(arguments, dataDir: store, stdin: stdin.map { Data($0.utf8) })
            precondition(result.status == 0, "known store: \(arguments): \(result.err)")
        }
        must(["topic", "create", "t", "-p", String(partitions), "-c", "segment.bytes=65536"])
        let half = recordsPerPartition / 2
        for (range, codec) in [(0..<half, "none"), (half..<recordsPerPartition, "zstd")] {
            var lines = ""
            for i in range {
                for p in 0..<partitions {
                    lines += #"{"partition":\#(p),"key":"k\#(p)-\#(i)","value":"\#(value(p, i))"}"# + "\n"
                }
            }
            must(["produce", "t", "--json", "--compression", codec, "--batch-size", "2048"], stdin: lines)
        }
        must(["consume", "t", "--group", "g", "--max-messages", "1200", "--format", "%o\\n", "--commit-every", "50"])
        must(["group", "seek", "g", "--topic", "t", "--shift-by", "-100", "--execute"])
        must(["consume", "t", "--group", "h", "--max-messages", "30", "--format", "%o\\n"])
        must(["topic", "create", "dest", "-p", "3", "-c", "segment.bytes=65536"])
        for p in ["0", "1"] { must(["produce", "dest", "-p", p], stdin: "old-1\nold-2\nold-3\n") }
        must(["export", "t", "-o", root + "/t.tar.zst", "--quiet"])
        atexit { try? FileManager.default.removeItem(atPath: KnownStore.template) }
        return root
    }()

    static var store: String { template + "/store" }
    static var archive: String { template + "/t.tar.zst" }
}
