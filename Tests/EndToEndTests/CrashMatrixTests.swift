import Foundation
import SluiceCore
import TestSupport
import Testing

/// The crash matrix (docs/ARCHITECTURE.md §4): every write path, SIGKILLed at seeded
/// random instants — a third just before a chosen syscall
/// (`SLUICE_FAULTS=any:KILL:after=N`, exactly reproducible), a third on a
/// timer (which also lands inside a syscall) — or failed there by an I/O
/// error (`any:EIO:after=N:times=1`, the last third), then checked: the store opens, the
/// path's promise holds (all or nothing, or a prefix of the input with
/// nothing lost or duplicated), the next writer recovers any torn tail and
/// `verify` is clean.
///
/// A few trials per path run in `make test`; `make test-crash` runs
/// `SLUICE_CRASH_TRIALS` per path. A failure names its path, trial and kill
/// point; `SLUICE_CRASH_SEED` reruns the same trials (`SLUICE_CRASH_PATH` just
/// one path's). Adding a path is one entry in `CrashMatrix.paths`.
@Suite struct CrashMatrixTests {
    @Test(arguments: CrashMatrix.paths.map(\.name))
    func killedAtRandomInstants(path name: String) throws {
        // SLUICE_CRASH_PATH=NAME runs one path (with SLUICE_CRASH_SEED, to reproduce a failure).
        if let only = ProcessInfo.processInfo.environment["SLUICE_CRASH_PATH"], only != name { return }
        let path = CrashMatrix.paths.first { $0.name == name }!
        let report = try CrashMatrix.run(path, trials: Reliability.trials(short: 3))
        print(report.line)
        CrashMatrix.append(report.line)
        for failure in report.failures { Issue.record(Comment(rawValue: failure)) }
        #expect(report.killed > 0 || report.trials < 3, "\(name): no trial was killed mid-run")
    }

    /// Found by the matrix: `import --with-groups` restored the groups'
    /// offsets after the topic's commit point, so a kill between the two left
    /// a topic without them that a rerun could not complete ("exists").
    @Test func importWithGroupsKilledAtItsFirstGroupCommitIsResumable() throws {
        let dir = TemporaryDirectory("sluice-import-groups")
        let store = dir.path + "/store"
        try Reliability.copy(KnownStore.store, to: store)
        try Reliability.ok(["export", "t", "-o", dir.path + "/g.tar.zst", "--with-groups", "--quiet"], store)
        let killed = try SluiceProcess.run(
            ["import", dir.path + "/g.tar.zst", "--topic", "copy", "--with-groups"], dataDir: store,
            environment: ["SLUICE_FAULTS": "write:KILL:path=__consumer_offsets-"])
        #expect(killed.status == -SIGKILL)
        try Reliability.ok(["import", dir.path + "/g.tar.zst", "--topic", "copy", "--with-groups", "--quiet"], store)
        #expect(try Reliability.committed("g", topic: "copy", store) == Reliability.committed("g", topic: "t", store))
        #expect(try Reliability.records("copy", store) == KnownStore.allLines)
    }

    /// Found by the matrix: a producer killed after writing offset-index
    /// entries but before their time-index entries left a time index that
    /// recovery trusted (it trusts the time entries up to the last sound
    /// offset entry) and `verify` found stale ever after.
    @Test(arguments: [".timeindex", ".index"], [0, 1])
    func aWriterKilledBetweenItsIndexWritesIsRecovered(file: String, after: Int) throws {
        let dir = TemporaryDirectory()
        try Reliability.ok(["topic", "create", "k", "-c", "segment.bytes=65536"], dir.path)
        let lines = (0..<10_000).map { "record-\($0)-" + String(repeating: "z", count: $0 % 50) }.joined(separator: "\n") + "\n"
        let killed = try SluiceProcess.run(
            ["produce", "k", "--batch-size", "2048"], dataDir: dir.path, stdin: Data(lines.utf8),
            environment: ["SLUICE_FAULTS": "write:KILL:after=\(after):path=\(file)"])
        #expect(killed.status == -SIGKILL)
        try Reliability.ok(["produce", "k"], dir.path, stdin: Data("marker\n".utf8))
        #expect(try Reliability.problems(dir.path).isEmpty)
    }

    /// Found by the matrix: an import killed while its finished staging area
    /// was being removed could leave the commit record without the staged
    /// metadata it rolls forward from, and every command then failed.
    @Test(arguments: 0..<6)
    func anImportKilledWhileRemovingItsStagingAreaLeavesAUsableStore(unlinks: Int) throws {
        let dir = TemporaryDirectory("sluice-discard")
        let store = dir.path + "/store"
        try Reliability.copy(KnownStore.store, to: store)
        let killed = try SluiceProcess.run(
            ["import", KnownStore.archive, "--topic", "copy"], dataDir: store,
            environment: ["SLUICE_FAULTS": "unlink:KILL:after=\(unlinks):path=/.sluice/staging/"])
        try Reliability.ok(["topic", "list"], store)
        if killed.status == -SIGKILL || killed.status == 0 {
            #expect(try Reliability.records("copy", store) == KnownStore.allLines)
        }
        #expect(Reliability.entries(store + "/.sluice/staging", prefix: "").isEmpty)
    }

    /// Found by the matrix's EIO trials: an `lstat` failing while a committed
    /// import was rolled forward read as "no staged partition", which was
    /// then skipped and removed with the staging area: a topic without it.
    @Test func anImportWhoseStatFailsLeavesAUsableStore() throws {
        let dir = TemporaryDirectory("sluice-import-eio")
        let source = dir.path + "/source"
        try Reliability.ok(["topic", "create", "t", "-p", "3"], source)
        try Reliability.ok(["produce", "t"], source, stdin: Data((0..<3000).map { "record-\($0)\n" }.joined().utf8))
        try Reliability.ok(["export", "t", "-o", dir.path + "/t.tar.zst", "--quiet"], source)
        for n in 0..<60 {
            let store = dir.path + "/store-\(n)"
            try Reliability.copy(source, to: store)
            let failed = try SluiceProcess.run(
                ["import", dir.path + "/t.tar.zst", "--topic", "copy"], dataDir: store,
                environment: ["SLUICE_FAULTS": "lstat:EIO:after=\(n):times=1"])
            try Reliability.ok(["topic", "list"], store)
            if failed.status == 0 { #expect(try Reliability.records("copy", store) == Reliability.records("t", store), "lstat \(n)") }
            try FileManager.default.removeItem(atPath: store)
        }
    }

    /// Found by a search for other errors read as absence: an appending
    /// import killed after its commit is rolled forward by the next command,
    /// and an `open` or `read` of the topic's metadata failing there read as
    /// "the topic was deleted". The staging area was removed with the import
    /// unsettled, and every later command failed on a missing file of it.
    /// (Killed before its commit, it must be rolled back just as surely; and
    /// a staging directory that fails to list must not read as empty.)
    @Test(
        arguments: ["rename:KILL:path=/prepared", "unlink:KILL:path=sluice-pending-append"],
        ["open:EIO:path=dest.topic", "read:EIO:path=dest.topic", "readdir:EIO:path=/.sluice/staging"])
    func anInterruptedAppendIsSettledEvenWhenItsTopicFailsToRead(kill: String, failure: String) throws {
        let dir = TemporaryDirectory("sluice-settle-eio")
        let store = dir.path + "/store"
        try Reliability.copy(KnownStore.store, to: store)
        let before = try Reliability.records("dest", store)
        let killed = try SluiceProcess.run(
            ["import", KnownStore.archive, "--topic", "dest", "--append"], dataDir: store,
            environment: ["SLUICE_FAULTS": kill])
        #expect(killed.status == -SIGKILL)
        let failed = try SluiceProcess.run(["topic", "list"], dataDir: store, environment: ["SLUICE_FAULTS": failure + ":times=1"])
        try Reliability.requireNoCrash(failed, ["topic", "list"])
        try Reliability.ok(["topic", "list"], store)
        let after = try Reliability.records("dest", store)
        let committed = kill.hasPrefix("unlink")
        #expect(after.count == before.count + (committed ? KnownStore.allLines.count : 0), "\(after.count) records")
        #expect(Set(before).isSubset(of: after))
        #expect(try Reliability.problems(store).isEmpty)
    }

    /// Found by the matrix's EIO trials (produce-zstd trial 59 of the long
    /// run): an `lstat` of the time index failing when a writer opened the
    /// last segment read as "no time index", so the writer put its entries at
    /// the start of the file, over the segment's first ones.
    @Test(arguments: [".timeindex", ".index"])
    func aWriterWhoseIndexStatFailsLeavesTheIndexesWhole(file: String) throws {
        let dir = TemporaryDirectory("sluice-index-eio")
        try Reliability.ok(["topic", "create", "k", "-c", "segment.bytes=65536"], dir.path)
        func records(_ range: Range<Int>) -> Data {
            Data(
                range.map {
                    #"{"timestamp":\#(1_700_000_000_000 + $0),"value":"record-\#($0)-\#(String(repeating: "z", count: $0 % 50))"}"# + "\n"
                }.joined().utf8)
        }
        try Reliability.ok(["produce", "k", "--json", "--batch-size", "2048"], dir.path, stdin: records(0..<400))
        let failed = try SluiceProcess.run(
            ["produce", "k", "--json", "--batch-size", "2048"], dataDir: dir.path, stdin: records(400..<800),
            environment: ["SLUICE_FAULTS": "lstat:EIO:path=\(file):times=1"])
        #expect(failed.status == 1)
        #expect(failed.errorLines.last?.contains("input/output error") == true, "\(failed.err)")
        try Reliability.ok(["produce", "k", "--json"], dir.path, stdin: records(800..<801))
        #expect(try Reliability.problems(dir.path).isEmpty)
    }

    /// After a failed fdatasync the kernel may have dropped the dirty pages and
    /// report the next fdatasync as a success: produce used to retry it and
    /// then say the records it had appended "are durable".
    @Test func aFailedFsyncIsNeverRetriedIntoDurability() throws {
        let dir = TemporaryDirectory()
        try Reliability.ok(["topic", "create", "k"], dir.path)
        let failed = try SluiceProcess.run(
            ["produce", "k"], dataDir: dir.path, stdin: Data("a\nb\n".utf8),
            environment: ["SLUICE_FAULTS": "fdatasync:EIO:times=1"])
        #expect(failed.status == 1)
        let said = failed.errorLines.last ?? ""
        #expect(said.contains("input/output error") && said.contains("were appended") && !said.contains("durable"), "\(failed.err)")
    }

    @Test func aKillRuleKillsTheProcessAtItsSyscall() throws {
        let dir = TemporaryDirectory()
        try Reliability.ok(["topic", "create", "k"], dir.path)
        let killed = try SluiceProcess.run(
            ["produce", "k"], dataDir: dir.path, stdin: Data("a\nb\n".utf8),
            environment: ["SLUICE_FAULTS": "write:KILL:path=k-0"])
        #expect(killed.status == -SIGKILL)
        #expect(try Reliability.records("k", dir.path).isEmpty, "the process died before its first write to the log")
        let survived = try SluiceProcess.run(
            ["produce", "k"], dataDir: dir.path, stdin: Data("a\nb\n".utf8),
            environment: ["SLUICE_FAULTS": "any:KILL:after=1000000"])
        #expect(survived.status == 0)
    }
}

/// One write path of the matrix.
struct CrashPath: Sendable {
    /// Where a trial runs: the path's starting store copied to `store`, with
    /// the inputs `prepare` left in `inputs` and an empty `scratch` for outputs.
    struct Workspace: Sendable {
        let store: String
        let inputs: String
        let scratch: String
    }

    /// A killed command's trial, for a path's own check.
    struct Trial: Sendable {
        let workspace: Workspace
        let result: SluiceProcess.Result
        /// The starting store, and the store after a complete run.
        let pristine: Workspace
        let reference: Workspace
        var store: String { workspace.store }
    }

    enum Promise: Sendable {
        /// The store is as before the command or as after it completed (as
        /// `observe` sees it); one exited 0 is as after; a rerun after a
        /// rollback completes it. `rolledBack` and `completed` check what
        /// else must hold in each case (what a killed command may leave
        /// behind must be gone after the next administrative command).
        case atomic(
            observe: @Sendable (Workspace) throws -> [String],
            rolledBack: (@Sendable (Workspace) throws -> Void)? = nil, completed: (@Sendable (Workspace) throws -> Void)? = nil)
        /// The path checks its own promise; returns a label for the report.
        case custom(@Sendable (Trial) throws -> String)
    }

    let name: String
    /// Turns a copy of the known store (`workspace.store`) into the path's starting store and writes its inputs.
    var prepare: @Sendable (Workspace) throws -> Void = { _ in }
    /// The command killed in every trial, and the file its stdin reads.
    let command: @Sendable (Workspace) -> (arguments: [String], stdin: String?)
    let promise: Promise
}

/// What a path's trials found.
struct CrashReport: Sendable {
    var path: String
    var trials = 0
    /// Trials killed at a syscall, killed on a timer, given EIO at a syscall.
    var modes = [0, 0, 0]
    var killed = 0
    var failed = 0
    var outcomes: [String: Int] = [:]
    var failures: [String] = []
    var syscalls = 0
    var seconds = 0.0

    var line: String {
        let labels = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return
            """
            crash-matrix \(path): \(trials) trials (\(modes[0]) killed at a syscall of ~\(syscalls), \(modes[1]) on a timer, \
            \(modes[2]) given EIO at a syscall; \(killed) died mid-run, \(failed) failed cleanly): \(labels); \(failures.count) failures
            """
    }
}

enum CrashMatrix {
    static let seed = Reliability.seed(20_261_121)

    /// Appends a report line to `$SLUICE_RELIABILITY_REPORT` (make test-crash collects the figures there).
    static func append(_ line: String) {
        guard let file = ProcessInfo.processInfo.environment["SLUICE_RELIABILITY_REPORT"], !file.isEmpty else { return }
        let handle =
            FileHandle(forWritingAtPath: file)
            ?? {
                FileManager.default.createFile(atPath: file, contents: nil)
                return FileHandle(forWritingAtPath: file)!
            }()
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
        handle.closeFile()
    }

    static func run(_ path: CrashPath, trials: Int) throws -> CrashReport {
        let root = TemporaryDirectory("sluice-crash-\(path.name)")
        let pristine = CrashPath.Workspace(
            store: root.file("pristine"), inputs: root.file("inputs"), scratch: root.file("scratch-pristine"))
        try Reliability.copy(KnownStore.store, to: pristine.store)
        try FileManager.default.createDirectory(atPath: pristine.inputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: pristine.scratch, withIntermediateDirectories: true)
        try path.prepare(pristine)

        func workspace(_ name: String) throws -> CrashPath.Workspace {
            let w = CrashPath.Workspace(store: root.file(name), inputs: pristine.inputs, scratch: root.file(name + "-scratch"))
            try Reliability.copy(pristine.store, to: w.store)
            try? FileManager.default.removeItem(atPath: w.scratch)
            try FileManager.default.createDirectory(atPath: w.scratch, withIntermediateDirectories: true)
            return w
        }
        func start(_ w: CrashPath.Workspace, faults: String? = nil) throws -> SluiceProcess.Running {
            let (arguments, stdin) = path.command(w)
            return try SluiceProcess.start(
                arguments, dataDir: w.store, environment: faults.map { ["SLUICE_FAULTS": $0] } ?? [:],
                stdinFile: stdin)
        }

        // A complete run: the state every trial is compared with, and how long it takes.
        let reference = try workspace("reference")
        let began = Date()
        let completed = try start(reference).finish()
        let duration = Date().timeIntervalSince(began)
        guard completed.status == 0 else { throw TrialFailure("\(path.name): the complete run failed: \(completed.err)") }
        let syscalls = try countSyscalls { try start(workspace("probe"), faults: "any:KILL:after=\($0)").finish().status != -SIGKILL }

        var before: [String]?, after: [String]?
        if case .atomic(let observe, _, _) = path.promise {
            before = try observe(pristine)
            after = try observe(reference)
        }
        var report = CrashReport(path: path.name, syscalls: syscalls, seconds: duration)
        var random = SeededRandom(seed: seed &+ UInt64(truncatingIfNeeded: path.name.hashValueStable))
        for trial in 0..<trials {
            let mode = trial % 3
            let point =
                mode == 1
                ? Int.random(in: 0...Int(duration * 1.2 * 1_000_000), using: &random)
                : Int.random(in: 0..<max(1, syscalls), using: &random)
            let faults = [0: "any:KILL:after=\(point)", 2: "any:EIO:after=\(point):times=1"][mode]
            let how = faults.map { "SLUICE_FAULTS=\($0)" } ?? "killed after \(point) µs"
            let w = try workspace("trial")
            report.trials += 1
            report.modes[mode] += 1
            do {
                let running = try start(w, faults: faults)
                if mode == 1 {
                    usleep(UInt32(point))
                    running.kill()
                }
                let result = try running.finish()
                if result.status == -SIGKILL {
                    report.killed += 1
                } else {
                    try Reliability.requireNoCrash(result, path.command(w).arguments)
                    if result.status != 0 {
                        report.failed += 1
                        // One error line, last (verify's report of what it checked may precede it).
                        guard result.errorLines.filter({ $0.hasPrefix("error: ") }).count == 1,
                            result.errorLines.last?.hasPrefix("error: ") == true
                        else {
                            throw TrialFailure("a failed command must say why in one line: \(result.err.suffix(400))")
                        }
                    }
                }
                let label = try check(
                    path, CrashPath.Trial(workspace: w, result: result, pristine: pristine, reference: reference),
                    before: before, after: after)
                report.outcomes[label, default: 0] += 1
                try nextWriterRecovers(w)
            } catch {
                report.failures.append("\(path.name) trial \(trial) (seed \(seed), \(how)): \(error)")
            }
        }
        return report
    }

    /// The number of syscalls a complete run makes, found by killing at
    /// growing counts (a run that is not killed made fewer), then bisecting.
    static func countSyscalls(_ survives: (Int) throws -> Bool) throws -> Int {
        var high = 16
        while try !survives(high) { high *= 2 }
        var low = high / 2
        for _ in 0..<4 where high - low > 1 {
            let mid = (low + high) / 2
            if try survives(mid) { high = mid } else { low = mid }
        }
        return high
    }

    /// Runs the path's promise check after the store was opened once (which
    /// rolls staging areas forward or back).
    static func check(_ path: CrashPath, _ trial: CrashPath.Trial, before: [String]?, after: [String]?) throws -> String {
        let w = trial.workspace, result = trial.result
        try Reliability.ok(["topic", "list"], w.store)
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: w.store + "/.sluice/staging")) ?? []
        guard staging.isEmpty else { throw TrialFailure("staging areas left after the store was opened: \(staging)") }
        switch path.promise {
        case .custom(let check):
            return try check(trial)
        case .atomic(let observe, let rolledBack, let completed):
            let state = try observe(w)
            if state == after {
                try completed?(w)
                return "complete"
            }
            guard result.status != 0 else {
                throw TrialFailure("exited 0 but the store is not as after a complete run:\n\(diff(after!, state))")
            }
            guard state == before else { throw TrialFailure("the store is neither as before nor as after:\n\(diff(before!, state))") }
            try rolledBack?(w)
            let (arguments, stdin) = path.command(w)
            let rerun = try SluiceProcess.start(arguments, dataDir: w.store, stdinFile: stdin).finish()
            guard rerun.status == 0 else { throw TrialFailure("the rerun after a rollback failed: \(rerun.err)") }
            let final = try observe(w)
            guard final == after else { throw TrialFailure("the rerun did not complete the command:\n\(diff(after!, final))") }
            return "rolled back"
        }
    }

    /// The next writer of every partition recovers a torn tail, after which
    /// `verify` finds nothing (the offsets log included).
    static func nextWriterRecovers(_ w: CrashPath.Workspace) throws {
        let topics = try JSONValue.parse(try Reliability.ok(["topic", "list", "--json"], w.store).out)["topics"]?.arrayValue ?? []
        for topic in topics {
            guard let name = topic["topic"]?.stringValue, let count = topic["partitions"]?.intValue else { continue }
            let markers = (0..<count).map { #"{"partition":\#($0),"value":"marker"}"# }.joined(separator: "\n") + "\n"
            try Reliability.ok(["produce", name, "--json"], w.store, stdin: Data(markers.utf8))
        }
        let problems = try Reliability.problems(w.store)
        guard problems.isEmpty else { throw TrialFailure("verify after the next writers: \(problems.joined(separator: "; "))") }
    }

    static func diff(_ expected: [String], _ found: [String]) -> String {
        let missing = expected.filter { !found.contains($0) }.prefix(5), extra = found.filter { !expected.contains($0) }.prefix(5)
        return "  missing \(Array(missing))\n  unexpected \(Array(extra)) (\(expected.count) lines expected, \(found.count) found)"
    }
}

extension String {
    /// A hash that is the same in every process (`hashValue` is randomly seeded).
    var hashValueStable: Int {
        utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }
    }
}
