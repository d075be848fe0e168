import Foundation
import SluiceCore
import TestSupport
import Testing

/// Corruption trials (docs/ARCHITECTURE.md §4): seeded random bit flips, truncations and
/// zeroed ranges in every kind of file a store holds. Every damage must be
/// detected — by `verify`, or by a reader stopping with an error naming the
/// partition, segment, byte and offset — never crash a command, never make a
/// reader return a wrong record silently, and `verify --repair` must bring
/// the store back to a clean state that keeps everything before the damage.
/// Damage that cannot be detected by design (RELIABILITY.md lists it) is
/// classified by the trial, never waved through: each class is recognised
/// by exactly what was damaged.
///
/// A few dozen trials run in `make test`; `make test-crash` runs 1,000 (or
/// `SLUICE_CORRUPTION_TRIALS`). A failure names its class, trial and seed.
@Suite struct CorruptionTrialTests {
    /// The classes to run: all, or those SLUICE_CORRUPTION_CLASSES names (comma-separated), for a long run of one.
    static let classes: [Corruption.Target] = {
        guard let names = ProcessInfo.processInfo.environment["SLUICE_CORRUPTION_CLASSES"] else { return Corruption.Target.allCases }
        return Corruption.Target.allCases.filter { names.split(separator: ",").contains(Substring($0.rawValue)) }
    }()

    static let trialsPerClass: Int = {
        if let n = Int(ProcessInfo.processInfo.environment["SLUICE_CORRUPTION_TRIALS"] ?? "") {
            return max(1, n / Corruption.Target.allCases.count)
        }
        return Reliability.isLongForm ? 1000 / Corruption.Target.allCases.count + 1 : 5
    }()

    @Test(arguments: Corruption.Target.allCases)
    func damageIsDetectedAndRepaired(target: Corruption.Target) throws {
        var report = Corruption.Report(target: target)
        guard Self.classes.contains(target) else { return }
        for trial in 0..<Self.trialsPerClass {
            let seed = Corruption.seed &+ UInt64(trial) &* 7919 &+ UInt64(target.rawValue.hashValueStable & 0xFFFF)
            do {
                let outcome = try Corruption.trial(target, seed: seed)
                report.outcomes[outcome, default: 0] += 1
            } catch {
                report.failures.append("\(target.rawValue) trial \(trial) (seed \(seed)): \(error)")
            }
            report.trials += 1
        }
        print(report.line)
        CrashMatrix.append(report.line)
        for failure in report.failures { Issue.record(Comment(rawValue: failure)) }
    }

    /// A base offset is outside the batch CRC. Found by these trials: a
    /// damaged one made readers skip records (or return them under wrong
    /// offsets) without an error, `verify --repair` could not repair it, and
    /// a writer appended after it with offsets continuing from the damage.
    /// (batch index, -1 the last; change of its base offset, `Int64.min` for one that would overflow)
    @Test(arguments: [(5, Int64(-4)), (5, 4), (0, 2), (-1, 4), (5, Int64.min)])
    func aDamagedBaseOffsetIsCaughtAndRepaired(batch index: Int, by delta: Int64) throws {
        let dir = TemporaryDirectory("sluice-base-offset")
        let store = dir.path + "/store"
        try Reliability.copy(KnownStore.store, to: store)
        let logs = Reliability.entries(store + "/t-0", prefix: "0").filter { $0.hasSuffix(".log") }
        let log = store + "/t-0/" + (index < 0 ? logs.last! : logs.first!)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: log)))
        let batches = SegmentBytes.batches(bytes)
        let victim = batches[index < 0 ? batches.count - 1 : index]
        let damaged = delta == Int64.min ? Int64.max - 1 : victim.baseOffset + delta
        for i in 0..<8 { bytes[victim.position + i] = UInt8(truncatingIfNeeded: damaged >> (56 - 8 * i)) }
        try Data(bytes).write(to: URL(fileURLWithPath: log))

        let read = try Reliability.run(["consume", "t", "-p", "0", "--format", "%p %o %k %v\\n"], store)
        #expect(read.status == 2 && Corruption.preciseError(read.errorLines.first) == "t-0", "\(read.err)")
        let printed = try Corruption.requireKnownRecords(read.out, "consume")
        #expect(printed[0] ?? [] == Array(0..<victim.baseOffset), "the reader prints every record before the damage, then stops")
        let produce = try Reliability.run(["produce", "t", "-p", "0"], store, stdin: Data("after\n".utf8))
        #expect(index >= 0 || produce.status == 2, "a writer appended after a damaged last batch: \(produce.err)")
        #expect(try !Reliability.problems(store, ["t"]).isEmpty)
        try Reliability.ok(["verify", "--repair", "t"], store)
        #expect(try Reliability.problems(store, ["t"]).isEmpty)
        let kept = try Corruption.requireKnownRecords(
            try Reliability.ok(["consume", "t", "-p", "0", "--format", "%p %o %k %v\\n"], store).out, "consume")
        #expect(kept[0] ?? [] == Array(0..<victim.baseOffset), "everything before the damaged batch is kept")
    }

    /// Found by these trials: one damaged staging record or pending-append
    /// marker made every command on the data directory fail, `verify
    /// --repair` included. The record's other copies (the markers, or the
    /// record for a marker) say what to finish.
    @Test(arguments: ["committed", "prepared", "marker"])
    func aDamagedStagingFileIsResolvedFromWhatElseRecordsIt(file: String) throws {
        let dir = TemporaryDirectory("sluice-staging-damage")
        let store = dir.path + "/store"
        let committed = file != "prepared"
        try Reliability.copy(committed ? Corruption.stores.committed : Corruption.stores.uncommitted, to: store)
        let area = try #require(Reliability.entries(store + "/.sluice/staging", prefix: "").first { !$0.hasSuffix(".lock") })
        let path = file == "marker" ? store + "/dest-1/sluice-pending-append" : store + "/.sluice/staging/\(area)/\(file)"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let opened = try Reliability.ok(["topic", "list"], store)
        #expect(opened.err.contains("warning: ") && opened.err.contains("is corrupt"), "\(opened.err)")
        #expect(
            try Reliability.records("dest", store) == (committed ? try Corruption.destAfterImport() : try Corruption.destBeforeImport()))
        #expect(try Reliability.problems(store).isEmpty)
        #expect(Reliability.entries(store + "/.sluice/staging", prefix: "").isEmpty)
    }
}

enum Corruption {
    static let seed = Reliability.seed(31_415_926)

    enum Target: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case segmentLog = "segment-log"
        /// Damage confined to a partition's last batch, half the time with an
        /// offset-index entry pointing at it (issue 14, D1).
        case lastBatch = "last-batch"
        case offsetIndex = "offset-index"
        case timeIndex = "time-index"
        case offsetsLog = "offsets-log"
        case offsetsSnapshot = "offsets-snapshot"
        case topicMetadata = "topic-metadata"
        case stagingRecord = "staging-record"

        var testDescription: String { rawValue }
    }

    enum Damage: CustomStringConvertible {
        case flip(bits: [Int])
        case truncate(to: Int)
        case zero(Range<Int>)

        var description: String {
            switch self {
            case .flip(let bits): return "flipped bits \(bits.prefix(8)) (byte \(bits.first.map { $0 / 8 } ?? 0))"
            case .truncate(let size): return "truncated to \(size) bytes"
            case .zero(let range): return "zeroed bytes \(range)"
            }
        }

        /// The first byte changed (where the damage starts).
        var firstByte: Int {
            switch self {
            case .flip(let bits): return (bits.min() ?? 0) / 8
            case .truncate(let size): return size
            case .zero(let range): return range.lowerBound
            }
        }

        func apply(_ bytes: [UInt8]) -> [UInt8] {
            var out = bytes
            switch self {
            case .flip(let bits): for bit in bits { out[bit / 8] ^= UInt8(1 << (bit % 8)) }
            case .truncate(let size): out = Array(out.prefix(size))
            case .zero(let range): for i in range { out[i] = 0 }
            }
            return out
        }

        /// Damage inside `batch` only: flipped bits, a cut inside it (a torn
        /// write), or zeros from inside it, a third of them up to the end of the file.
        static func random(within batch: Range<Int>, using random: inout SeededRandom) -> Damage {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let start = Int.random(in: batch.lowerBound * 8..<batch.upperBound * 8, using: &random)
                let count = [1, 1, 1, 2, 3, 8][Int.random(in: 0..<6, using: &random)]
                return .flip(bits: (0..<count).map { _ in min(batch.upperBound * 8 - 1, start + Int.random(in: 0..<64, using: &random)) })
            case 5..<7:
                return .truncate(to: Int.random(in: batch, using: &random))
            default:
                let start = Int.random(in: batch, using: &random)
                let end =
                    Int.random(in: 0..<3, using: &random) == 0
                    ? batch.upperBound : min(batch.upperBound, start + Int.random(in: 1...4096, using: &random))
                return .zero(start..<end)
            }
        }

        static func random(size: Int, using random: inout SeededRandom) -> Damage {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let start = Int.random(in: 0..<size * 8, using: &random)
                let count = [1, 1, 1, 2, 3, 8][Int.random(in: 0..<6, using: &random)]
                return .flip(bits: (0..<count).map { _ in min(size * 8 - 1, start + Int.random(in: 0..<64, using: &random)) })
            case 5..<7:
                return .truncate(to: Int.random(in: 0..<size, using: &random))
            default:
                let start = Int.random(in: 0..<size, using: &random)
                return .zero(start..<min(size, start + Int.random(in: 1...4096, using: &random)))
            }
        }
    }

    struct Report {
        let target: Target
        var trials = 0
        var outcomes: [String: Int] = [:]
        var failures: [String] = []

        var line: String {
            let labels = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "corruption \(target.rawValue): \(trials) trials: \(labels); \(failures.count) failures"
        }
    }

    // MARK: - stores

    /// The known store plus a group `snap` that committed after every record
    /// of a topic of tiny batches (so its offsets partition has a snapshot),
    /// and two stores with an
    /// append to `dest` frozen before and after its commit point.
    static let stores: (plain: String, uncommitted: String, committed: String) = {
        let root = NSTemporaryDirectory() + "/sluice-corruption-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let plain = root + "/plain"
        try! Reliability.copy(KnownStore.store, to: plain)
        for arguments in [
            ["topic", "create", "snapsrc"], ["produce", "snapsrc", "--batch-size", "64"],
            ["consume", "snapsrc", "--group", "snap", "--commit-every", "1", "--format", "%o\\n"],
        ] {
            let result = try! SluiceProcess.run(arguments, dataDir: plain, stdin: Data((0..<2500).map { "s\($0)\n" }.joined().utf8))
            precondition(result.status == 0, result.err)
        }
        var frozen: [String] = []
        for (name, faults) in [
            ("uncommitted", "rename:EIO:after=1:path=/prepared;open:EIO:after=3:path=sluice-pending-append"),
            ("committed", "unlink:EIO:path=sluice-pending-append"),
        ] {
            let store = root + "/" + name
            try! Reliability.copy(KnownStore.store, to: store)
            let result = try! SluiceProcess.run(
                ["import", KnownStore.archive, "--topic", "dest", "--append"], dataDir: store,
                environment: ["SLUICE_FAULTS": faults])
            precondition(
                result.status == 1 && FileManager.default.fileExists(atPath: store + "/dest-0/" + "sluice-pending-append"),
                "freezing an import \(name): \(result.err)")
            frozen.append(store)
        }
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "/sluice-corruption-\(getpid())") }
        return (plain, frozen[0], frozen[1])
    }()

    static let memo = Memo()

    /// The files of a class in a store (relative paths), non-empty ones only.
    static func candidates(_ target: Target, in store: String) -> [String] {
        let all = (FileManager.default.subpaths(atPath: store) ?? []).sorted()
        func size(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: store + "/" + p))?[.size] as? Int) ?? 0 }
        let files: [String]
        switch target {
        case .segmentLog: files = all.filter { $0.hasPrefix("t-") && $0.hasSuffix(".log") }
        case .lastBatch:
            files = (0..<KnownStore.partitions).compactMap { p in all.last { $0.hasPrefix("t-\(p)/") && $0.hasSuffix(".log") } }
        case .offsetIndex: files = all.filter { $0.hasPrefix("t-") && $0.hasSuffix(".index") }
        case .timeIndex: files = all.filter { $0.hasPrefix("t-") && $0.hasSuffix(".timeindex") }
        case .offsetsLog: files = all.filter { $0.hasPrefix("__consumer_offsets-") && $0.hasSuffix(".log") }
        case .offsetsSnapshot: files = all.filter { $0.hasSuffix(".snapshot") }
        case .topicMetadata: files = all.filter { $0 == ".sluice/topics/t.topic" }
        case .stagingRecord:
            files = all.filter {
                $0.hasPrefix(".sluice/staging/") && ($0.hasSuffix("/prepared") || $0.hasSuffix("/committed"))
                    || $0.hasSuffix("/sluice-pending-append")
            }
        }
        return files.filter { size($0) > 0 }
    }

    // MARK: - one trial

    /// Damages one file of the class in a fresh copy, checks detection, then
    /// repair; returns how the damage was met.
    static func trial(_ target: Target, seed: UInt64) throws -> String {
        var random = SeededRandom(seed: seed)
        let source: String
        if target == .stagingRecord {
            source = Bool.random(using: &random) ? stores.committed : stores.uncommitted
        } else {
            source = stores.plain
        }
        let files = candidates(target, in: source)
        guard !files.isEmpty else { throw TrialFailure("no \(target.rawValue) file in the store") }
        let file = files[Int.random(in: 0..<files.count, using: &random)]
        let dir = TemporaryDirectory("sluice-corrupt")
        let store = dir.path + "/store"
        try Reliability.copy(source, to: store)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: store + "/" + file)))
        let last = SegmentBytes.batches(original).last
        let damage =
            target == .lastBatch
            ? Damage.random(within: last!.position..<last!.position + last!.size, using: &random)
            : Damage.random(size: original.count, using: &random)
        let damaged = damage.apply(original)
        guard damaged != original else { return "no change" }
        try Data(damaged).write(to: URL(fileURLWithPath: store + "/" + file))
        do {
            switch target {
            case .lastBatch:
                let indexed = Bool.random(using: &random)
                if indexed { try pointIndex(store + "/" + file, at: last!) }
                let outcome = try lastBatchDamage(store, file: file, original: original, damage: damage, random: &random, source: source)
                return outcome + (indexed ? " (indexed)" : "")
            case .segmentLog, .offsetIndex, .timeIndex:
                return try topicDamage(store, file: file, original: original, damage: damage, random: &random, source: source)
            case .offsetsLog: return try offsetsLogDamage(store, source: source, harmless: isInLeaderEpoch(damage, original))
            case .offsetsSnapshot: return try snapshotDamage(store, source: source)
            case .topicMetadata: return try metadataDamage(store)
            case .stagingRecord: return try stagingDamage(store, committed: source == stores.committed)
            }
        } catch let failure as TrialFailure {
            throw TrialFailure("\(file) \(damage): \(failure)\(TemporaryDirectory.kept ? " (store kept in \(store))" : "")")
        }
    }

    // MARK: - segments and indexes of t

    /// The error a reader stops with: partition, segment file and byte (the offset follows when the header could be read).
    static func preciseError(_ line: String?) -> String? {
        guard let line, let match = line.firstMatch(of: #/corrupt log in partition (\S+), segment \d{20}\.log: .*at byte \d+/#) else {
            return nil
        }
        return String(match.1)
    }

    /// Every record a consume printed must be the known one at its offset;
    /// returns them by partition.
    static func requireKnownRecords(_ output: String, _ what: String) throws -> [Int: [Int64]] {
        var found: [Int: [Int64]] = [:]
        for line in completeLinesOf(output) {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let p = Int(fields[0]), let o = Int(fields[1].prefix { $0 != " " }),
                (0..<KnownStore.partitions).contains(p), (0..<KnownStore.recordsPerPartition).contains(o), line == KnownStore.line(p, o)
            else {
                throw TrialFailure("\(what) returned a wrong record: \(line.prefix(120))")
            }
            found[p, default: []].append(Int64(o))
        }
        return found
    }

    static func completeLinesOf(_ text: String) -> [String] {
        CrashMatrix.completeLines(text).split(separator: "\n").map(String.init)
    }

    static func topicDamage(
        _ store: String, file: String, original: [UInt8], damage: Damage, random: inout SeededRandom,
        source: String
    ) throws -> String {
        let partition = Int(file.split(separator: "/")[0].dropFirst(2))!
        let segmentBase = Int64(file.split(separator: "/")[1].prefix(20))!
        let problems = try Reliability.problems(store, ["t"])
        let read = try Reliability.run(["consume", "t", "--format", "%p %o %k %v\\n"], store)
        let found = try requireKnownRecords(read.out, "consume")
        let complete = (0..<KnownStore.partitions).allSatisfy { found[$0] == (0..<Int64(KnownStore.recordsPerPartition)).map { $0 } }
        var readerDetected = false
        if read.status != 0 {
            guard preciseError(read.errorLines.first) == "t-\(partition)" else {
                throw TrialFailure("consume failed without a precise error: \(read.err.prefix(300))")
            }
            readerDetected = true
        } else if !complete {
            // A reader that ends early without an error saw what looks like a torn write: only the end of the
            // damaged partition may be missing.
            for q in 0..<KnownStore.partitions {
                let records = found[q] ?? []
                guard records == Array(0..<Int64(records.count)), q == partition || records.count == KnownStore.recordsPerPartition else {
                    throw TrialFailure("consume exited 0 but skipped records of partition \(q) (\(records.count) read, not a prefix)")
                }
            }
            if problems.isEmpty {
                guard isTruncatedAtAnEntryBoundary(file, original: original, damage: damage, store: store) else {
                    throw TrialFailure("records are missing, consume exited 0 and verify found nothing")
                }
                return "undetectable by design (truncated at a batch boundary)"
            }
        }
        // Reading from an offset and from a time goes through both indexes.
        let p = Int.random(in: 0..<KnownStore.partitions, using: &random),
            from = Int.random(in: 0..<KnownStore.recordsPerPartition, using: &random)
        let located = try Reliability.run(
            ["consume", "t", "-p", String(p), "--from", String(from), "-c", "3", "--format", "%p %o %k %v\\n"], store)
        let first = try requireKnownRecords(located.out, "consume --from \(from)")[p]?.first
        if located.status == 0, first.map({ $0 != Int64(from) }) ?? problems.isEmpty {
            throw TrialFailure("consume -p \(p) --from \(from) started at \(first ?? -1), exit 0")
        }
        let time = try memo.value("time-\(p)-\(from)") {
            try Reliability.ok(["consume", "t", "-p", String(p), "--from", String(from), "-c", "1", "--format", "%T"], source).out
        }
        let byTime = try Reliability.run(
            ["consume", "t", "-p", String(p), "--from", "@\(time)", "-c", "1", "--format", "%p %o %k %v\\n"], store)
        let expectedByTime = try memo.value("bytime-\(p)-\(time)") {
            try Reliability.ok(["consume", "t", "-p", String(p), "--from", "@\(time)", "-c", "1", "--format", "%p %o %k %v\\n"], source).out
        }
        _ = try requireKnownRecords(byTime.out, "consume --from @\(time)")
        var misdirected = false
        if byTime.status == 0 && byTime.out != expectedByTime {
            guard !problems.isEmpty else {
                throw TrialFailure("a lookup by time found \(byTime.out) instead of \(expectedByTime); verify found nothing")
            }
            misdirected = true
        }
        if problems.isEmpty && !readerDetected {
            guard isInLeaderEpoch(damage, original) else {
                throw TrialFailure("verify found nothing (consume \(complete ? "complete" : "incomplete"))")
            }
            return "undetectable by design (partition leader epoch)"
        }

        // Repair keeps everything before the damage.
        let repair = try Reliability.run(["verify", "--repair", "t"], store)
        guard repair.status == 0 else { throw TrialFailure("verify --repair exited \(repair.status): \(repair.err.suffix(300))") }
        let left = try Reliability.problems(store, ["t"])
        guard left.isEmpty else { throw TrialFailure("problems after repair: \(left)") }
        let repaired = try requireKnownRecords(
            try Reliability.ok(["consume", "t", "--format", "%p %o %k %v\\n"], store).out, "consume after repair")
        let keep =
            file.hasSuffix(".log") ? keptOffset(original, segmentBase: segmentBase, damage: damage) : Int64(KnownStore.recordsPerPartition)
        for q in 0..<KnownStore.partitions {
            let records = repaired[q] ?? []
            let must = q == partition ? keep : Int64(KnownStore.recordsPerPartition)
            guard records == Array(0..<Int64(records.count)), records.count >= must else {
                throw TrialFailure(
                    "after repair partition \(q) holds \(records.count) records (\(records.first ?? -1)...), at least \(must) must be kept")
            }
        }
        let how =
            readerDetected
            ? (problems.isEmpty ? "detected by the reader" : "detected by verify and the reader")
            : complete ? "detected by verify (readers unaffected)" : "detected by verify (readers end there: it looks like a torn write)"
        return misdirected ? how + " (a time lookup was misdirected)" : how
    }

    /// Adds the offset-index entry Kafka writes for a batch that crosses
    /// `index.interval.bytes` (its last offset, its position), unless there is one.
    static func pointIndex(_ log: String, at batch: SegmentBytes.Entry) throws {
        let path = String(log.dropLast(".log".count)) + ".index"
        let base = Int64(log.split(separator: "/").last!.prefix(20))!
        var index = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        guard index.count < 8 || SegmentBytes.int32(index, index.count - 4) != Int32(batch.position) else { return }
        for field in [Int32(batch.baseOffset + Int64(batch.lastOffsetDelta) - base), Int32(batch.position)] {
            index += withUnsafeBytes(of: field.bigEndian, Array.init)
        }
        try Data(index).write(to: URL(fileURLWithPath: path))
    }

    /// Whether every damaged bit is in a batch's base offset (bytes 0–7, outside the CRC).
    static func isInBaseOffset(_ damage: Damage, of batch: SegmentBytes.Entry) -> Bool {
        guard case .flip(let bits) = damage else { return false }
        return bits.allSatisfy { (batch.position..<batch.position + 8).contains($0 / 8) }
    }

    /// What may look like a torn write when only the last batch is damaged:
    /// a cut inside it, zeros from its first byte to the end of the file.
    static func looksTorn(_ damage: Damage, last: SegmentBytes.Entry, fileSize: Int) -> Bool {
        switch damage {
        case .truncate: return true
        case .zero(let range): return range.lowerBound == last.position && range.upperBound == fileSize
        case .flip: return false
        }
    }

    /// Damage to a partition's last batch (D1 of issue 14): the end stays the
    /// last valid batch's, writers refuse until a repair (unless it looks
    /// torn), and after the repair no offset the batch held is given again.
    static func lastBatchDamage(
        _ store: String, file: String, original: [UInt8], damage: Damage, random: inout SeededRandom,
        source: String
    ) throws -> String {
        let partition = Int(file.split(separator: "/")[0].dropFirst(2))!
        let last = SegmentBytes.batches(original).last!, trueEnd = Int64(KnownStore.recordsPerPartition)
        let torn = looksTorn(damage, last: last, fileSize: original.count)
        let harmless = isInLeaderEpoch(damage, original)
        let described = try JSONValue.parse(try Reliability.ok(["topic", "describe", "t", "--json"], store).out)
        let end = described["partitions"]?.arrayValue?[partition]["end_offset"]?.int64Value ?? -1
        // A base offset is outside the CRC: one damaged forward reads as the batch's claim (never as less).
        let claimedForward = isInBaseOffset(damage, of: last) && end > last.baseOffset
        guard end == (harmless ? trueEnd : last.baseOffset) || claimedForward else {
            throw TrialFailure("the end of t-\(partition) reads \(end); the last valid batch ends at \(last.baseOffset)")
        }

        let copy = TemporaryDirectory("sluice-last-batch")
        try Reliability.copy(store, to: copy.path + "/store")
        let early = try Reliability.run(["produce", "t", "-p", String(partition)], copy.path + "/store", stdin: Data("after\n".utf8))
        if early.status == 0 {
            guard torn || harmless else { throw TrialFailure("a writer appended after a damaged last batch and exited 0") }
        } else if early.status != 2 || !early.err.contains("verify") || !early.err.contains("--repair") {
            throw TrialFailure("a writer refused without saying to repair: exit \(early.status): \(early.err.prefix(300))")
        }

        let how = try topicDamage(store, file: file, original: original, damage: damage, random: &random, source: source)
        try Reliability.ok(["produce", "t", "-p", String(partition)], store, stdin: Data("after\n".utf8))
        let appended = try Reliability.ok(
            ["consume", "t", "-p", String(partition), "--from", String(last.baseOffset), "--format", "%o %v\\n"], store)
        let offset = appended.out.split(separator: "\n").last { $0.hasSuffix(" after") }.flatMap { Int64($0.prefix { $0 != " " }) } ?? -1
        guard offset >= (torn ? last.baseOffset : trueEnd) else {
            throw TrialFailure(
                "after the repair the next record took offset \(offset): offsets up to \(trueEnd - 1) were handed out before")
        }
        let writer = early.status == 0 ? (torn ? "a writer cuts it as a torn write" : "a writer appends") : "writers refuse until repaired"
        return "\(how); \(writer)" + (claimedForward ? " (a damaged base offset: the end reads its claim)" : "")
    }

    /// The offset of the first record in or after the damaged batch: every
    /// record before it must survive a repair.
    static func keptOffset(_ original: [UInt8], segmentBase: Int64, damage: Damage) -> Int64 {
        let batches = SegmentBytes.batches(original)
        let hit = batches.first { $0.position + $0.size > damage.firstByte }
        return hit?.baseOffset ?? (batches.last.map { $0.baseOffset + Int64($0.lastOffsetDelta) + 1 } ?? segmentBase)
    }

    /// A log cut exactly after a batch of the partition's last segment is a
    /// valid, shorter log: nothing can tell it from one never written further.
    static func isTruncatedAtAnEntryBoundary(_ file: String, original: [UInt8], damage: Damage, store: String) -> Bool {
        guard case .truncate(let size) = damage, file.hasSuffix(".log") else { return false }
        let directory = store + "/" + file.split(separator: "/")[0]
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        guard logs.last == String(file.split(separator: "/")[1]) else { return false }
        return size == 0 || SegmentBytes.batches(original).contains { $0.position + $0.size == size }
    }

    /// Whether every damaged byte is in a batch's partition leader epoch
    /// (bytes 12–15): outside Kafka's CRC, and read by nothing.
    static func isInLeaderEpoch(_ damage: Damage, _ original: [UInt8]) -> Bool {
        guard case .flip(let bits) = damage else { return false }
        let epochs = SegmentBytes.batches(original).map { ($0.position + 12)..<($0.position + 16) }
        return bits.allSatisfy { bit in epochs.contains { $0.contains(bit / 8) } }
    }

    // MARK: - the offsets store

    /// The groups of the store and the topic each consumed.
    static let groups = [("g", "t"), ("h", "t"), ("snap", "snapsrc")]

    /// Every offset each group ever committed per partition, from its history.
    static func everCommitted(_ store: String) throws -> [String: Set<Int64>] {
        try memo.value("ever-committed") {
            var out: [String: Set<Int64>] = [:]
            for (group, _) in groups {
                let history = try JSONValue.parse(try Reliability.ok(["group", "history", group, "--json"], store).out)
                for change in history["changes"]?.arrayValue ?? [] {
                    if let p = change["partition"]?.intValue, let o = change["offset"]?.int64Value {
                        out["\(group) \(p)", default: []].insert(o)
                    }
                }
            }
            return out
        }
    }

    static func committedState(_ store: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (group, topic) in groups {
            for (p, o) in try Reliability.committed(group, topic: topic, store) { out["\(group) \(p)"] = o }
        }
        return out
    }

    /// Reads every group's offsets: each must be what was committed last, or
    /// (when the reader cannot see the damage) an offset the group once committed.
    static func requireTrueOffsets(_ store: String, source: String, what: String) throws -> Bool {
        let expected = try memo.value("committed") { try committedState(source) }
        let ever = try everCommitted(source)
        var exact = true
        for (group, topic) in groups {
            let result = try Reliability.run(["lag", "--json", group], store)
            guard result.status == 0 else {
                // A group whose every commit is in a tail that reads as torn has none.
                guard preciseError(result.errorLines.first) != nil || result.err.contains("has no committed offsets") else {
                    throw TrialFailure("\(what): lag \(group) failed without a precise error: \(result.err.prefix(300))")
                }
                exact = false
                continue
            }
            for (p, o) in try Reliability.committed(group, topic: topic, store) where expected["\(group) \(p)"] != o {
                guard ever["\(group) \(p)"]?.contains(o) == true else {
                    throw TrialFailure("\(what): group \(group) partition \(p) reads offset \(o), which it never committed")
                }
                exact = false
            }
        }
        return exact
    }

    static func offsetsLogDamage(_ store: String, source: String, harmless: Bool) throws -> String {
        let problems = try Reliability.problems(store, ["__consumer_offsets"])
        let exact = try requireTrueOffsets(store, source: source, what: "before repair")
        if problems.isEmpty && exact {
            guard harmless else { throw TrialFailure("verify found nothing and every group reads its true offsets") }
            return "undetectable by design (partition leader epoch)"
        }
        let repair = try Reliability.run(["verify", "--repair", "__consumer_offsets"], store)
        guard repair.status == 0, try Reliability.problems(store, ["__consumer_offsets"]).isEmpty else {
            throw TrialFailure("verify --repair __consumer_offsets did not leave it clean: \(repair.err.suffix(300))")
        }
        _ = try requireTrueOffsets(store, source: source, what: "after repair")
        return problems.isEmpty
            ? "detected by the reader"
            : exact
                ? "detected by verify (readers unaffected)"
                : "detected by verify (readers stop with an error, or see an older commit where it looks torn)"
    }

    static func snapshotDamage(_ store: String, source: String) throws -> String {
        let expected = try memo.value("committed") { try committedState(source) }
        var warned = false
        for (group, _) in groups {
            let result = try Reliability.ok(["lag", "--json", group], store)
            warned = warned || result.err.contains("ignoring the damaged snapshot")
        }
        guard try committedState(store) == expected else { throw TrialFailure("a damaged snapshot changed the committed offsets") }
        guard warned else { throw TrialFailure("the damaged snapshot was used without a warning") }
        // The next commit to the partition writes a fresh snapshot.
        return "detected by its checksum (rebuilt from the log)"
    }

    // MARK: - topic metadata and staging

    static func metadataDamage(_ store: String) throws -> String {
        let describe = try Reliability.run(["topic", "describe", "t"], store)
        let read = try Reliability.run(["consume", "t", "--format", "%p %o %k %v\\n"], store)
        _ = try requireKnownRecords(read.out, "consume")
        guard describe.status != 0, read.status != 0, describe.err.contains("t.topic"),
            describe.err.contains("corrupt") || describe.err.contains("version")
        else {
            throw TrialFailure("damaged metadata was not refused: describe exited \(describe.status): \(describe.err.prefix(200))")
        }
        // Other topics stay usable.
        try Reliability.ok(["consume", "dest", "--format", "%v\\n"], store)
        return "detected (commands on the topic refuse it)"
    }

    static func destBeforeImport() throws -> [String] {
        try memo.value("dest-before") { try Reliability.records("dest", KnownStore.store) }
    }

    static func destAfterImport() throws -> [String] {
        try memo.value("dest-after") { () throws -> [String] in
            let copy = NSTemporaryDirectory() + "/sluice-dest-after-\(UUID().uuidString)"  // memo may compute it in parallel tests at once
            try Reliability.copy(KnownStore.store, to: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try Reliability.ok(["import", KnownStore.archive, "--topic", "dest", "--append", "--quiet"], copy)
            return try Reliability.records("dest", copy)
        }
    }

    static func stagingDamage(_ store: String, committed: Bool) throws -> String {
        let opened = try Reliability.run(["topic", "list"], store)
        guard opened.status == 0 else {
            guard opened.err.contains(".sluice/staging/") || opened.err.contains("sluice-pending-append") else {
                throw TrialFailure("the store refuses to open without naming the damaged file: \(opened.err.prefix(300))")
            }
            return "detected (the store refuses to open)"
        }
        let before = try destBeforeImport(), after = try destAfterImport()
        let read = try Reliability.run(["consume", "dest", "--format", "%p %o %k %v\\n"], store)
        if read.status != 0 {
            guard read.err.contains("sluice-pending-append") || preciseError(read.errorLines.first) != nil else {
                throw TrialFailure("reading dest failed without naming the damaged file: \(read.err.prefix(300))")
            }
            return "detected (readers of the partition refuse it)"
        }
        let found = Reliability.sortedLines(read.out)
        if found == after {
            guard committed else { throw TrialFailure("an import that was not committed became visible") }
            return "rolled forward"
        }
        guard found == before else { throw TrialFailure("dest is neither as before the import nor as after it (\(found.count) records)") }
        guard !committed else { throw TrialFailure("a committed import was rolled back") }
        return "rolled back"
    }
}
