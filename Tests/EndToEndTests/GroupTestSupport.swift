import Foundation
import SluiceCore
import TestSupport

/// A data directory for group tests. Its offsets topic comes from a template
/// made once per test process: creating `__consumer_offsets` makes 50
/// partitions durably, which is slow to repeat in every test.
struct GroupStore {
    let dir = TemporaryDirectory()
    var path: String { dir.path + "/data" }

    static let template: String = {
        let path = NSTemporaryDirectory() + "/sluice-e2e-groups-template-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        for arguments in [
            ["topic", "create", "template"], ["group", "seek", "template", "--topic", "template", "--to-earliest", "--execute"],
            ["group", "delete", "template"], ["topic", "delete", "template", "--yes"],
        ] {
            let result = try! SluiceProcess.run(arguments, dataDir: path)
            precondition(result.status == 0, "template: \(arguments): \(result.err)")
        }
        atexit { try? FileManager.default.removeItem(atPath: GroupStore.template) }
        return path
    }()

    init() throws {
        try FileManager.default.copyItem(atPath: Self.template, toPath: path)
    }

    @discardableResult
    func sluice(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> SluiceProcess.Result {
        try SluiceProcess.run(arguments, dataDir: path, stdin: stdin.map { Data($0.utf8) }, environment: environment)
    }

    func start(_ arguments: [String]) throws -> SluiceProcess.Running {
        try SluiceProcess.start(arguments, dataDir: path)
    }

    /// Creates a topic and fills each partition with `counts[p]` records whose
    /// values are "p-i" and timestamps `timestamp(i)`.
    func topic(_ name: String, counts: [Int], timestamp: (Int) -> Int64 = { 1_700_000_000_000 + Int64($0) * 1000 }) throws {
        let created = try sluice(["topic", "create", name, "-p", String(counts.count)])
        precondition(created.status == 0, created.err)
        var lines = ""
        for (p, count) in counts.enumerated() {
            for i in 0..<count { lines += #"{"partition":\#(p),"timestamp":\#(timestamp(i)),"value":"\#(p)-\#(i)"}"# + "\n" }
        }
        guard !lines.isEmpty else { return }
        let produced = try sluice(["produce", name, "--json"], stdin: lines)
        precondition(produced.status == 0, produced.err)
    }

    /// Runs a command that must succeed.
    @discardableResult
    func ok(_ arguments: [String]) throws -> SluiceProcess.Result {
        let result = try sluice(arguments)
        if result.status != 0 { throw Failure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.err)") }
        return result
    }

    /// A group's committed offsets by "topic-partition" (nil: none), from
    /// `lag --json`; empty for a group without any.
    func committed(_ group: String) throws -> [String: Int64?] {
        var out: [String: Int64?] = [:]
        let result = try sluice(["lag", "--json", group])
        if result.status == 1 && result.err.contains("has no committed offsets") { return [:] }
        guard result.status == 0 else { throw Failure("lag \(group) exited \(result.status): \(result.err)") }
        for topic in try JSONValue.parse(result.out)["groups"]?.arrayValue?.first?["topics"]?.arrayValue ?? [] {
            for row in topic["partitions"]?.arrayValue ?? [] {
                out["\(topic["topic"]!.stringValue!)-\(row["partition"]!.intValue!)"] = row["committed_offset"]?.int64Value
            }
        }
        return out
    }

    func lag(_ arguments: [String]) throws -> JSONValue {
        try JSONValue.parse(try ok(["lag", "--json"] + arguments).out)
    }

    /// Every file under the data directory with its bytes.
    func snapshot() throws -> [String: Data] {
        var out: [String: Data] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: path) {
            var isDirectory: ObjCBool = false
            let full = path + "/" + sub
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[sub] = try Data(contentsOf: URL(fileURLWithPath: full))
            } else {
                out[sub + "/"] = Data()
            }
        }
        return out
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass.
    func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        try TestSupport.waitUntil(seconds, what, condition)
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// "p o" lines of `consume --format '%p %o\n'` as offsets per partition.
func offsetsByPartition(_ output: String) -> [Int: [Int64]] {
    var out: [Int: [Int64]] = [:]
    // A killed consumer's last line may be cut where its output buffer was
    // split between two writes ("1 9242" for "1 92421"): complete lines only.
    for line in output.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        let fields = line.split(separator: " ")
        guard fields.count == 2, let p = Int(fields[0]), let o = Int64(fields[1]) else { continue }
        out[p, default: []].append(o)
    }
    return out
}
