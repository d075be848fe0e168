import Foundation
import SluiceCore
import TestSupport

/// The write paths of the crash matrix, each starting from a copy of
/// `KnownStore`. What "acknowledged" means per path:
///
/// - produce: every record of a produce that exited 0 (the known store's
///   records) survives; a killed produce leaves, per partition, a prefix of
///   what a complete run writes: nothing lost before it, nothing duplicated.
/// - consume --group: commits never run ahead of what was written to stdout,
///   never go back, and the next consumer starts exactly at the last commit.
/// - topic create/alter/delete, group seek/rollback/delete, import, export:
///   all or nothing (a rerun completes what was rolled back).
/// - verify --repair: everything before the damage is kept at every instant;
///   a rerun finishes the repair.
extension CrashMatrix {
    static let paths: [CrashPath] = [
        produce("none"), produce("zstd"),
        consumeGroup,
        topicCreate, topicAlterPartitions, topicAlterConfig, topicDelete,
        groupChange("group-seek", ["group", "seek", "g", "--topic", "t", "--to-earliest", "--execute"]),
        groupChange("group-rollback", ["group", "rollback", "g", "--steps", "1", "--execute"]),
        groupChange("group-delete", ["group", "delete", "g"]),
        importArchive("import-new-topic", ["--topic", "copy"], observed: "copy"),
        importArchive("import-append", ["--topic", "dest", "--append"], observed: "dest"),
        importArchive("import-with-groups", ["--topic", "copy", "--with-groups"], observed: "copy", archive: "groups.tar.zst"),
        export,
        verifyRepair,
    ]

    // MARK: - produce

    static func produce(_ codec: String) -> CrashPath {
        CrashPath(
            name: "produce-\(codec)",
            prepare: { w in
                var lines = ""
                for i in 0..<20_000 { lines += "key-\(i % 53)|new-\(i)-\(String(repeating: "y", count: i % 29))\n" }
                try Reliability.write(lines, to: w.inputs + "/produce.txt")
            },
            command: { w in
                (["produce", "t", "-K", "|", "--batch-size", "1024", "--compression", codec, "--quiet"], w.inputs + "/produce.txt")
            },
            promise: .custom { trial in
                let found = byPartition(try Reliability.records("t", trial.store))
                let complete = try memo.value("produce-\(codec)-reference") {
                    byPartition(try Reliability.records("t", trial.reference.store))
                }
                var written = 0
                for p in 0..<KnownStore.partitions {
                    let mine = found[p] ?? [], full = complete[p] ?? []
                    guard mine.count >= KnownStore.recordsPerPartition, mine == Array(full.prefix(mine.count)) else {
                        throw TrialFailure(
                            "partition \(p) is not a prefix of the complete run:\n\(diff(Array(full.prefix(mine.count)), mine))")
                    }
                    written += mine.count - KnownStore.recordsPerPartition
                }
                if trial.result.status == 0 && found != complete { throw TrialFailure("produce exited 0 but not every record is there") }
                return written == 0 ? "nothing written" : found == complete ? "all written" : "a prefix written"
            })
    }

    static func byPartition(_ lines: [String]) -> [Int: [String]] {
        Dictionary(grouping: lines) { Int($0.prefix { $0 != " " })! }
    }

    // MARK: - consume --group

    static let consumeGroup = CrashPath(
        name: "consume-group-commits",
        command: { _ in
            (["consume", "t", "--group", "g", "--commit-every", "97", "--format", "%p %o\\n"], nil)
        },
        promise: .custom { trial in
            let start = try memo.value("consume-start") { try Reliability.committed("g", topic: "t", trial.pristine.store) }
            let delivered = offsetsByPartition(trial.result.out)
            let after = try Reliability.committed("g", topic: "t", trial.store)
            var label = "nothing committed"
            for p in 0..<KnownStore.partitions {
                let from = start[p] ?? 0, mine = delivered[p] ?? []
                guard mine == Array(from..<from + Int64(mine.count)) else {
                    throw TrialFailure(
                        "partition \(p): delivered \(mine.first ?? -1)... (\(mine.count)), not contiguous from the commit \(from)")
                }
                let now = after[p] ?? from
                guard now >= from, now <= from + Int64(mine.count) else {
                    throw TrialFailure(
                        "partition \(p): committed \(now) outside [\(from), \(from + Int64(mine.count))] (what was written out)")
                }
                if now > from { label = "some committed" }
            }
            // The next consumer starts exactly at each commit and reads to the end.
            let rerun = try Reliability.ok(["consume", "t", "--group", "g", "--format", "%p %o\\n"], trial.store)
            let rest = offsetsByPartition(rerun.out)
            let end = Int64(KnownStore.recordsPerPartition)
            for p in 0..<KnownStore.partitions {
                let from = after[p] ?? start[p] ?? 0
                guard rest[p] ?? [] == Array(from..<end) else {
                    throw TrialFailure("partition \(p): the next consumer read \((rest[p] ?? []).first ?? -1)..., not \(from)..<\(end)")
                }
            }
            guard try Reliability.committed("g", topic: "t", trial.store) == [0: end, 1: end, 2: end] else {
                throw TrialFailure("the next consumer did not commit the log end")
            }
            return label
        })

    /// The lines of `text` that end with a newline (a killed writer may leave half a line).
    static func completeLines(_ text: String) -> String {
        guard let last = text.lastIndex(of: "\n") else { return "" }
        return String(text[...last])
    }

    // MARK: - topic administration

    /// A topic's partition count, config and per-partition end offsets ("absent" when it does not exist).
    static func shape(_ topic: String, _ store: String, config keys: [String] = []) throws -> [String] {
        guard let describe = try Reliability.describe(topic, store) else { return ["absent"] }
        var out = ["partitions \(describe["partition_count"]?.intValue ?? -1)"]
        for key in keys { out.append("\(key)=\(describe["config"]?[key]?.stringValue ?? "-")") }
        for row in describe["partitions"]?.arrayValue ?? [] {
            out.append(
                "p\(row["partition"]?.intValue ?? -1) \(row["log_start_offset"]?.int64Value ?? -1)..<\(row["end_offset"]?.int64Value ?? -1)"
            )
        }
        return out
    }

    /// Runs an administrative command (which removes what killed ones left),
    /// then requires that no directory of `topic` beyond `keep` partitions remains.
    static func requireNoLeftovers(of topic: String, keep: Int, _ store: String) throws {
        try Reliability.ok(["topic", "create", "gc-probe"], store)
        try Reliability.ok(["topic", "delete", "gc-probe", "--yes"], store)
        let left = Reliability.entries(store, prefix: topic + "-").filter { name in
            name.hasSuffix("-delete") || (Int(name.dropFirst(topic.count + 1)).map { $0 >= keep } ?? false)
        }
        guard left.isEmpty else { throw TrialFailure("directories of '\(topic)' left behind: \(left)") }
    }

    static let topicCreate = CrashPath(
        name: "topic-create",
        command: { _ in
            (["topic", "create", "new", "-p", "4", "-c", "segment.bytes=131072"], nil)
        },
        promise: .atomic(
            observe: { w in try shape("new", w.store, config: ["segment.bytes"]) },
            rolledBack: { w in try requireNoLeftovers(of: "new", keep: 0, w.store) }))

    static let topicAlterPartitions = CrashPath(
        name: "topic-alter-partitions",
        command: { _ in
            (["topic", "alter", "t", "-p", "6"], nil)
        },
        promise: .atomic(
            observe: { w in try shape("t", w.store) },
            rolledBack: { w in try requireNoLeftovers(of: "t", keep: 3, w.store) }))

    static let topicAlterConfig = CrashPath(
        name: "topic-alter-config",
        command: { _ in
            (["topic", "alter", "t", "-c", "retention.ms=3600000", "-c", "segment.bytes=131072"], nil)
        }, promise: .atomic(observe: { w in try shape("t", w.store, config: ["retention.ms", "segment.bytes"]) }))

    static let topicDelete = CrashPath(
        name: "topic-delete",
        command: { _ in
            (["topic", "delete", "t", "--yes"], nil)
        },
        promise: .atomic(
            observe: { w in
                guard try Reliability.describe("t", w.store) != nil else { return ["absent"] }
                return try Reliability.records("t", w.store)
            },
            completed: { w in
                try requireNoLeftovers(of: "t", keep: 0, w.store)
                try Reliability.ok(["topic", "create", "t"], w.store)
                guard try Reliability.records("t", w.store).isEmpty else { throw TrialFailure("a re-created 't' is not empty") }
            }))

    // MARK: - group changes

    /// The committed offsets of `g` and of the bystander `h` on `t`.
    static func groupOffsets(_ store: String) throws -> [String] {
        try ["g", "h"].flatMap { group in
            try Reliability.committed(group, topic: "t", store).sorted { $0.key < $1.key }.map { "\(group) t-\($0.key) \($0.value)" }
        }
    }

    static func groupChange(_ name: String, _ arguments: [String]) -> CrashPath {
        CrashPath(name: name, command: { _ in (arguments, nil) }, promise: .atomic(observe: { w in try groupOffsets(w.store) }))
    }

    // MARK: - archives

    static func importArchive(_ name: String, _ options: [String], observed topic: String, archive: String? = nil) -> CrashPath {
        CrashPath(
            name: name,
            prepare: { w in
                if let archive { try Reliability.ok(["export", "t", "-o", w.inputs + "/" + archive, "--with-groups", "--quiet"], w.store) }
            },
            command: { w in
                (["import", archive.map { w.inputs + "/" + $0 } ?? KnownStore.archive, "--quiet"] + options, nil)
            },
            promise: .atomic(observe: { w in
                guard try Reliability.describe(topic, w.store) != nil else { return ["absent"] }
                var state = try Reliability.records(topic, w.store)
                if archive != nil {
                    for group in ["g", "h"] {
                        state += try Reliability.committed(group, topic: topic, w.store).sorted { $0.key < $1.key }.map {
                            "\(group) \($0.key) \($0.value)"
                        }
                    }
                }
                return state
            }))
    }

    static let export = CrashPath(
        name: "export",
        command: { w in
            (["export", "t", "-o", w.scratch + "/out.tar.zst", "--quiet"], nil)
        },
        promise: .atomic(observe: { w in
            let archive = w.scratch + "/out.tar.zst"
            guard FileManager.default.fileExists(atPath: archive) else { return ["absent"] }
            let verified = try Reliability.run(["archive", "verify", archive], w.store)
            return ["archive exit \(verified.status)"]
        }))

    // MARK: - verify --repair

    /// The byte a damaged batch starts at and its base offset, for `verify-repair`.
    static func damageFile(_ w: CrashPath.Workspace) -> String { w.inputs + "/damage" }

    static let verifyRepair = CrashPath(
        name: "verify-repair",
        prepare: { w in
            // Flip a byte inside the records of a batch in the middle of t-0's first segment.
            let log = w.store + "/t-0/00000000000000000000.log"
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: log)))
            let batches = SegmentBytes.batches(bytes)
            let victim = batches[batches.count / 2]
            bytes[victim.position + 70] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: log))
            try Reliability.write("\(victim.baseOffset)", to: damageFile(w))
        },
        command: { _ in
            (["verify", "--repair", "t"], nil)
        },
        promise: .custom { trial in
            let damagedAt = Int(try String(contentsOfFile: damageFile(trial.pristine), encoding: .utf8))!
            let kept = (0..<damagedAt).map { KnownStore.line(0, $0) }
            // At every instant: the other partitions intact, partition 0 readable up to the damage.
            for p in 1..<KnownStore.partitions {
                guard
                    try Reliability.records("t", trial.store, partition: p)
                        == (0..<KnownStore.recordsPerPartition).map({ KnownStore.line(p, $0) })
                else {
                    throw TrialFailure("partition \(p) changed")
                }
            }
            let read = try Reliability.run(["consume", "t", "-p", "0", "--format", "%p %o %k %v\\n"], trial.store)
            guard Reliability.sortedLines(read.out) == kept else {
                throw TrialFailure(
                    """
                    partition 0 reads \(read.out.split(separator: "\n").count) records (exit \
                    \(read.status): \(read.err.suffix(300))), not the \(kept.count) before the damage
                    """
                )
            }
            var label = "repaired"
            if try !Reliability.problems(trial.store, ["t"]).isEmpty {
                label = "resumed"
                try Reliability.ok(["verify", "--repair", "t"], trial.store)
            }
            guard try Reliability.problems(trial.store, ["t"]).isEmpty, try Reliability.records("t", trial.store, partition: 0) == kept
            else {
                throw TrialFailure("after the repair, partition 0 is not clean with exactly the records before the damage")
            }
            let repairs = (FileManager.default.subpaths(atPath: trial.store + "/.sluice/repairs") ?? []).filter {
                $0.contains(".from-byte-")
            }
            guard !repairs.isEmpty else { throw TrialFailure("the cut bytes were not kept under .sluice/repairs") }
            return label
        })
}

/// Walks the entries of a segment's bytes (12-byte framing), for tests that damage them.
enum SegmentBytes {
    struct Entry {
        let position: Int
        let size: Int
        let baseOffset: Int64
        let lastOffsetDelta: Int32
    }

    static func batches(_ bytes: [UInt8]) -> [Entry] {
        var out: [Entry] = []
        var at = 0
        while at + 61 <= bytes.count {
            let size = Int(int32(bytes, at + 8)) + 12
            guard size >= 61, at + size <= bytes.count else { break }
            out.append(Entry(position: at, size: size, baseOffset: int64(bytes, at), lastOffsetDelta: int32(bytes, at + 23)))
            at += size
        }
        return out
    }

    static func int32(_ b: [UInt8], _ at: Int) -> Int32 { Int32(bitPattern: b[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }) }
    static func int64(_ b: [UInt8], _ at: Int) -> Int64 { Int64(bitPattern: b[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) }) }
}

/// Values computed once per test process (reference states every trial compares with).
final class Memo: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Any] = [:]

    func value<T>(_ key: String, _ make: () throws -> T) rethrows -> T {
        lock.lock()
        if let known = values[key] as? T { lock.unlock(); return known }
        lock.unlock()
        let made = try make()
        lock.lock()
        values[key] = made
        lock.unlock()
        return made
    }
}

extension CrashMatrix {
    static let memo = Memo()
}
