import Foundation
import SluiceCore
import TestSupport

/// One record as `consume --json` prints it.
struct TopicRecord: Hashable {
    var partition: Int
    var offset: Int64
    var timestamp: Int64
    var key: String?
    var value: String?
    /// (key, value) pairs in order.
    var headers: [[String]]

    /// What a copy must keep: everything but the position.
    var content: [String] { [String(timestamp), key ?? "<null>", value ?? "<null>"] + headers.flatMap { $0 } }

    /// The `sluice.source` provenance header, as (partition, offset), when present.
    var provenance: (partition: Int, offset: Int64)? {
        guard let value = headers.last(where: { $0[0] == "sluice.source" })?[1] else { return nil }
        let parts = value.split(separator: "/")
        guard parts.count == 3, let p = Int(parts[1]), let o = Int64(parts[2]) else { return nil }
        return (p, o)
    }

    /// The headers without the provenance header.
    var originalHeaders: [[String]] { headers.filter { $0[0] != "sluice.source" } }
}

extension GroupStore {
    /// Every record of a topic, in partition and offset order (tab-separated
    /// fields rather than JSON: the tests read hundreds of thousands).
    func records(_ topic: String) throws -> [TopicRecord] {
        var out: [TopicRecord] = []
        for line in try ok(["consume", topic, "--format", "%p\\t%o\\t%T\\t%K\\t%k\\t%v\\t%h\\n"]).out.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            let headers = f[6].split(separator: ",").map { pair in
                pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            }
            out.append(
                TopicRecord(
                    partition: Int(f[0])!, offset: Int64(f[1])!, timestamp: Int64(f[2])!,
                    key: f[3] == "-1" ? nil : String(f[4]), value: String(f[5]), headers: headers))
        }
        return out.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    /// Creates topic `name` with `partitions` partitions and produces `count`
    /// records: keys k0…k(keys-1) (every seventh record unkeyed), a header on
    /// every third, distinct timestamps, unique values; small batches so whole
    /// batches can be copied and committed offsets cut some.
    func backlogTopic(_ name: String, partitions: Int = 3, count: Int, keys: Int = 500, first: Int = 0) throws {
        if first == 0 { try ok(["topic", "create", name, "-p", String(partitions)]) }
        var lines = ""
        lines.reserveCapacity(count * 120)
        for i in first..<(first + count) {
            var fields = [
                #""value":"v\#(i)-\#(String(repeating: "x", count: i % 23))""#, #""timestamp":\#(1_700_000_000_000 + Int64(i) * 7)"#,
            ]
            if i % 7 != 3 { fields.append(#""key":"k\#(i % keys)""#) } else { fields.append(#""partition":\#(i % partitions)"#) }
            if i % 3 == 0 { fields.append(#""headers":[{"key":"trace","value":"t\#(i)"}]"#) }
            lines += "{" + fields.joined(separator: ",") + "}\n"
        }
        let produced = try sluice(["produce", name, "--json", "--batch-size", "2048"], stdin: lines)
        if produced.status != 0 { throw Failure("produce: \(produced.err)") }
    }

    /// Every log-end offset of a topic, by partition.
    func ends(_ topic: String) throws -> [Int64] {
        let describe = try JSONValue.parse(try ok(["topic", "describe", topic, "--json"]).out)
        return (describe["partitions"]?.arrayValue ?? []).map { $0["end_offset"]!.int64Value! }
    }

    /// `redistribute status --json`'s entry for `name`.
    func redistribution(_ name: String) throws -> JSONValue {
        try JSONValue.parse(try ok(["redistribute", "status", name, "--json"]).out)["redistributions"]!.arrayValue![0]
    }
}
