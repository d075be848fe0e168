import Foundation
import SluiceCore
import TestSupport
import Testing

/// Running from cron: nothing prompts, locks time out naming their holder,
/// SIGTERM stops long commands at a consistent point and says how to go on,
/// --quiet silences notices, and stderr lines carry timestamps.
@Suite struct UnattendedTests {
    /// Holds an flock on `path` in a child until stopped: util-linux
    /// flock(1) takes it, then (without forking) becomes the shell that says
    /// so and sleeps, so the holder is one process with one pid.
    final class LockHolder {
        let process = Process()
        init(_ path: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            process.arguments = ["--no-fork", path, "sh", "-c", "echo locked; exec sleep 60"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // flock(1) prints once it holds the lock.
            _ = out.fileHandleForReading.availableData
        }
        var pid: Int32 { process.processIdentifier }
        /// SIGKILL: the test runner's threads block SIGTERM, and children inherit that.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A cron job's `> plan.csv` on a full disk must not exit 0 with half a
    /// plan (or report) written; a reader that has gone (`| head`) is fine.
    @Test(arguments: [["group", "seek", "g", "--topic", "t", "--to-earliest", "--export"], ["lag", "--json"], ["topic", "list"]])
    func aResultThatCannotBeWrittenIsAnError(arguments: [String]) throws {
        let store = try GroupStore()
        try store.topic("t", counts: [5, 5])
        try store.ok(["consume", "t", "--group", "g", "-c", "3"])
        let command = "'\(SluiceProcess.binary)' " + arguments.map { "'\($0)'" }.joined(separator: " ")
        let full = try ArchiveStore.shell(command + " > /dev/full", environment: ["SLUICE_DATA_DIR": store.path])
        #expect(full.status == 1, "\(full.err)")
        let said = SluiceProcess.errorLines(full.err).last ?? ""
        #expect(said.contains("no space left") && said.contains("do not run it again"), "\(full.err)")
        #expect(!said.contains("data directory"), "not the data directory's failure: \(full.err)")
        let gone = try ArchiveStore.shell(command + " | true", environment: ["SLUICE_DATA_DIR": store.path])
        #expect(gone.status == 0, "\(gone.err)")
    }

    @Test func locksTimeOutNamingTheHolder() throws {
        let store = try GroupStore()
        try store.topic("t", counts: [5, 5])
        for (path, arguments, object) in [
            (store.path + "/t-0", ["produce", "t", "-p", "0"], "partition t-0"),
            (store.path + "/.sluice/admin.lock", ["topic", "create", "x"], "the data directory"),
            (store.path + "/t-1", ["delete-records", "t", "--before", "2", "-p", "1", "--yes"], "partition t-1"),
        ] {
            let holder = try LockHolder(path)
            defer { holder.stop() }
            let started = Date()
            let result = try store.sluice(arguments + ["--lock-timeout", "300ms"], stdin: "x\n")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(result.status == 1, "\(arguments): \(result.err)")
            #expect(
                result.errorLines.last?.contains("\(object)") == true
                    && result.errorLines.last?.contains("is locked by process \(holder.pid)") == true,
                "\(arguments): \(result.err)")
            #expect(result.errorLines.last?.contains("raise --lock-timeout") == true)
        }
        let malformed = try store.sluice(["produce", "t", "--lock-timeout", "soon"], stdin: "x\n")
        #expect(malformed.status == 64 && malformed.err.contains("malformed duration 'soon'"))
    }

    @Test func nothingPromptsWithoutATerminal() throws {
        let store = try GroupStore()
        try store.topic("t", counts: [5])
        let before = try store.snapshot()
        for (arguments, flag) in [(["topic", "delete", "t"], "--yes"), (["delete-records", "t", "--before", "3"], "--yes")] {
            let result = try store.sluice(arguments)
            #expect(result.status == 64, "\(arguments): \(result.err)")
            #expect(
                result.errorLines.last?.contains("refusing to proceed without confirmation (not on a terminal); pass \(flag) to confirm")
                    == true)
        }
        #expect(try store.snapshot() == before)
    }

    @Test func quietSilencesNoticesAndStderrLinesCarryTimestamps() throws {
        let store = try GroupStore()
        try store.topic("t", counts: [50])
        let archive = store.dir.file("t.tar.zst")
        for arguments in [
            ["produce", "t"], ["export", "t", "-o", archive], ["import", archive, "--topic", "u"], ["verify"],
            ["retention"], ["retention", "--execute"], ["delete-records", "t", "--before", "1", "--yes"],
            ["group", "seek", "g", "--topic", "t", "--to-earliest"], ["topic", "create", "t", "--if-not-exists"],
        ] {
            let loud = try store.sluice(arguments, stdin: "x\n")
            #expect(loud.status == 0, "\(arguments): \(loud.err)")
            if arguments.first == "import" { try store.ok(["topic", "delete", "u", "--yes"]) }
            let quiet = try store.sluice(arguments + ["--quiet"], stdin: "x\n")
            #expect(quiet.status == 0, "\(arguments): \(quiet.err)")
            #expect(quiet.err.isEmpty, "\(arguments) --quiet printed: \(quiet.err)")
            if arguments.first == "import" { try store.ok(["topic", "delete", "u", "--yes"]) }
        }
        // Not on a terminal, every stderr line starts with an ISO-8601 UTC timestamp.
        let failed = try store.sluice(["consume", "nope"])
        let stamp = try #require(failed.err.split(separator: " ").first)
        #expect(stamp.count == 24 && stamp.hasSuffix("Z") && stamp.dropFirst(10).first == "T", "\(failed.err)")
    }

    /// A topic big enough that a slow export (zstd level 19, one thread) takes seconds.
    func bigTopic(_ store: GroupStore) throws {
        try store.ok(["topic", "create", "big", "-p", "2"])
        let lines = (0..<120_000).map { "record-\($0)-" + String(repeating: "abcdefghij", count: 6) }.joined(separator: "\n")
        #expect(try store.sluice(["produce", "big", "--quiet"], stdin: lines).status == 0)
    }

    func waitFor(_ what: String, _ condition: () -> Bool) throws {
        try waitUntil(20, what, every: 0.01, condition)
    }

    @Test func sigtermStopsExportImportAndConsumeAtAConsistentPoint() throws {
        let store = try GroupStore()
        try bigTopic(store)
        let records = try store.ok(["consume", "big", "--format", "%p %o %v\\n"]).out
        let before = try store.snapshot()

        // Export: no archive, no temporary file, the store untouched.
        let archive = store.dir.file("big.tar.zst")
        let export = try store.start(["export", "big", "-o", archive, "--level", "19", "--threads", "1"])
        try waitFor("the export's temporary file") {
            (try? FileManager.default.contentsOfDirectory(atPath: store.dir.path))?.contains { $0.hasPrefix("big.tar.zst.tmp-") } == true
        }
        export.kill(SIGTERM)
        let exported = try export.finish()
        #expect(exported.status == 1, "\(exported.err)")
        #expect(
            exported.errorLines.last?.contains("export interrupted by SIGTERM; no archive was written; run the export again") == true,
            "\(exported.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.dir.path).filter { $0.hasPrefix("big.tar.zst") }.isEmpty)

        // Import, its archive arriving through a pipe that stalls half-way: nothing imported, nothing left behind.
        try store.ok(["export", "big", "-o", archive, "--quiet"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let fifo = store.dir.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let importer = try store.start(["import", fifo, "--topic", "copy"])
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: fifo))
        try writer.write(contentsOf: bytes.prefix(bytes.count / 2))
        try waitFor("the import's staging area") {
            ((try? FileManager.default.contentsOfDirectory(atPath: store.path + "/.sluice/staging")) ?? []).contains {
                !$0.hasSuffix(".lock")
            }
        }
        importer.kill(SIGTERM)
        let imported = try importer.finish()
        try writer.close()
        #expect(imported.status == 1, "\(imported.err)")
        #expect(
            imported.errorLines.last?.contains("interrupted by SIGTERM while reading archive") == true
                && imported.errorLines.last?.contains("nothing was imported; run the import again") == true, "\(imported.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.path + "/.sluice/staging").isEmpty)
        #expect(
            try store.snapshot().filter { !$0.key.hasPrefix(".sluice/staging") } == before.filter { !$0.key.hasPrefix(".sluice/staging") })

        // The following consume sees every record, once; and the re-run import completes.
        #expect(try store.ok(["consume", "big", "--format", "%p %o %v\\n"]).out == records)
        try store.ok(["import", archive, "--topic", "copy", "--quiet"])
        #expect(try store.ok(["consume", "copy", "--format", "%p %o %v\\n"]).out == records)

        // A following group consumer stopped by SIGTERM commits exactly what it printed, and exits 0.
        let consumer = try store.start(["consume", "big", "--group", "g", "--follow", "--commit-every", "1000", "--format", "%p %o\\n"])
        try store.waitUntil(20, "the consumer's first commit") { !(try store.committed("g")).isEmpty }
        consumer.kill(SIGTERM)
        let consumed = try consumer.finish()
        #expect(consumed.status == 0, "\(consumed.err)")
        let printed = offsetsByPartition(consumed.out)
        let committed = try store.committed("g")
        for p in 0..<2 {
            #expect(committed["big-\(p)"] == printed[p].map { $0.last! + 1 } ?? 0, "partition \(p)")
            #expect(printed[p].map { $0 == Array(0..<Int64($0.count)) } ?? true, "partition \(p): every record once, in order")
        }
        #expect(try store.ok(["verify"]).status == 0)
    }

    @Test func sigtermStopsProduceReadingAStreamWithEverythingReadDurable() throws {
        let store = try GroupStore()
        try store.topic("t", counts: [0])
        let fifo = store.dir.file("lines")
        #expect(mkfifo(fifo, 0o600) == 0)
        // The test keeps the pipe open (read-write, so opening never blocks): produce waits for more input.
        let keepOpen = try FileHandle(forUpdating: URL(fileURLWithPath: fifo))
        let producer = try SluiceProcess.start(["produce", "t"], dataDir: store.path, stdinFile: fifo)
        try keepOpen.write(contentsOf: Data("one\ntwo\nthree\n".utf8))
        try waitFor("produce to read its input") {
            var available: Int32 = 0
            return ioctl(keepOpen.fileDescriptor, UInt(FIONREAD), &available) == 0 && available == 0
        }
        usleep(200_000)
        producer.kill(SIGTERM)
        let result = try producer.finish()
        try keepOpen.close()
        #expect(result.status == 1, "\(result.err)")
        #expect(
            result.errorLines.last?.contains("produce stopped by SIGTERM after 3 records (3 lines); they are durable in 't'") == true,
            "\(result.err)")
        #expect(result.errorLines.last?.contains("produce it (from line 4 on) to continue") == true)
        #expect(try store.ok(["consume", "t"]).out == "one\ntwo\nthree\n")
    }
}
