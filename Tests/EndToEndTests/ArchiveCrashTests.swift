import Foundation
import SluiceCore
import TestSupport
import Testing

/// Imports are all or nothing (docs/ARCHITECTURE.md §4): killed at any moment they
/// leave the store as it was or as a complete import leaves it, readers see
/// an append in every partition at once or not at all, and writers keep
/// writing while an import runs.
@Suite struct ArchiveCrashTests {
    /// A store with topic `orders` to export from and topic `dest` to append
    /// to: partitions 0 and 1 hold a few records, partition 2 is empty (its
    /// empty active segment is what an append replaces).
    static func store(_ path: String, records: Int) throws {
        try ArchiveStore.make(path, records: records)
        try ArchiveStore.expectSuccess(
            SluiceProcess.run(["topic", "create", "dest", "-p", "3", "-c", "segment.bytes=65536"], dataDir: path))
        for p in ["0", "1"] {
            try ArchiveStore.expectSuccess(
                SluiceProcess.run(["produce", "dest", "-p", p], dataDir: path, stdin: Data("old-1\nold-2\nold-3\nold-4\nold-5\n".utf8)))
        }
    }

    func lines(_ topic: String, _ dataDir: String) throws -> [String] {
        try SluiceProcess.run(["consume", topic, "--format", "%p %o %k %v\\n"], dataDir: dataDir).out.split(separator: "\n").map(
            String.init
        ).sorted()
    }

    @Test(arguments: ["append", "new-topic"])
    func killedImportsLeaveNothingOrEverything(mode: String) throws {
        let dir = TemporaryDirectory("sluice-import-crash")
        let pristine = dir.file("pristine")
        try Self.store(pristine, records: 60_000)
        try ArchiveStore.export(pristine, to: dir.file("a.tar.zst"))
        let arguments =
            ["import", dir.file("a.tar.zst"), "--quiet"] + (mode == "append" ? ["--topic", "dest", "--append"] : ["--topic", "copy"])
        let before = try ArchiveStore.snapshot(pristine)

        // The complete import, for reference, and how long it takes.
        let reference = dir.file("reference")
        try ArchiveStore.copy(pristine, to: reference)
        let started = Date()
        try ArchiveStore.expectSuccess(SluiceProcess.run(arguments, dataDir: reference))
        let duration = Date().timeIntervalSince(started)
        let complete = try ArchiveStore.snapshot(reference)
        let expectedCopy = mode == "append" ? try lines("dest", reference) : try lines("orders", pristine)
        func isComplete(_ path: String) throws -> Bool {
            if mode == "append" { return try ArchiveStore.snapshot(path) == complete }
            return try lines("copy", path).map { $0 } == expectedCopy && SluiceProcess.run(["verify", "copy"], dataDir: path).status == 0
        }

        var random = SeededRandom(seed: mode == "append" ? 1_234_567 : 7_654_321)
        var rolledBack = 0, completed = 0
        for trial in 0..<CrashAndConcurrencyTests.trials {
            let work = dir.file("trial-\(trial)")
            try ArchiveStore.copy(pristine, to: work)
            let running = try SluiceProcess.start(arguments, dataDir: work)
            usleep(UInt32.random(in: 0...UInt32(duration * 1.2 * 1_000_000), using: &random))
            running.kill()
            _ = try running.finish()
            // Any command opening the data directory finishes or undoes what the killed import left.
            try ArchiveStore.expectSuccess(SluiceProcess.run(["topic", "list"], dataDir: work))
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: work + "/.sluice/staging")) ?? []).isEmpty, "trial \(trial)")
            if try ArchiveStore.snapshot(work) == before {
                rolledBack += 1
                let rerun = try SluiceProcess.run(arguments, dataDir: work)
                #expect(rerun.status == 0, "trial \(trial): re-run after the crash: \(rerun.err)")
                #expect(try isComplete(work), "trial \(trial): the re-run should complete the import")
            } else {
                completed += 1
                #expect(try isComplete(work), "trial \(trial): the store is neither as before nor completely imported")
            }
            try FileManager.default.removeItem(atPath: work)
        }
        // Kill points are timed, so how many land before the commit depends on the load; some must.
        #expect(rolledBack > 0, "no kill landed before the commit (\(completed) completed)")
    }

    /// Freezes an append just before its commit point, then just after it
    /// (by failing one syscall in the importer), while a consumer follows the
    /// topic: it sees none of the records before the commit and all of them,
    /// in every partition, after.
    @Test(arguments: [false, true])
    func followersSeeAnAppendInAllPartitionsAtOnce(committed: Bool) throws {
        let dir = TemporaryDirectory("sluice-import-visibility")
        let data = dir.file("data")
        try Self.store(data, records: 3000)
        try ArchiveStore.export(data, to: dir.file("a.tar.zst"))
        let before = try ArchiveStore.snapshot(data)
        let follower = try SluiceProcess.start(["consume", "dest", "-f", "--format", "%p %o %v\\n"], dataDir: data)
        usleep(400_000)

        // Before the commit: the commit rename fails, then undoing it fails
        // at its first look at a marker. After it: removing markers fails.
        let faults =
            committed
            ? "unlink:EIO:path=sluice-pending-append"
            : "rename:EIO:after=1:path=/prepared;open:EIO:after=3:path=sluice-pending-append"
        let frozen = try SluiceProcess.run(
            ["import", dir.file("a.tar.zst"), "--topic", "dest", "--append"], dataDir: data,
            environment: ["SLUICE_FAULTS": faults])
        #expect(frozen.status == 1, "\(frozen.err)")
        #expect(frozen.errorLines.first?.contains(committed ? "the import is committed" : "nothing was imported") == true, "\(frozen.err)")
        for p in 0..<3 {
            #expect(
                FileManager.default.fileExists(atPath: "\(data)/dest-\(p)/sluice-pending-append"),
                "the append should be frozen with its markers")
        }
        usleep(800_000)
        // What the follower printed by now (it writes out every poll that finds nothing new).
        follower.kill()
        let seen = try follower.finish().out.split(separator: "\n")
        #expect(seen.count == (committed ? 3010 : 10), "the follower saw \(seen.count) records")
        if committed {
            #expect(seen.contains { $0.hasPrefix("2 ") }, "the empty partition's replaced segment should be followed")
        }

        // The next command finishes (or undoes) the append.
        try ArchiveStore.expectSuccess(SluiceProcess.run(["topic", "list"], dataDir: data))
        if committed {
            #expect(try lines("dest", data).count == 3010)
            #expect(try SluiceProcess.run(["verify", "dest"], dataDir: data).status == 0)
            #expect(!FileManager.default.fileExists(atPath: "\(data)/dest-0/sluice-pending-append"))
        } else {
            #expect(try ArchiveStore.snapshot(data) == before)
        }
    }

    @Test func producersKeepWritingDuringAnAppend() throws {
        let dir = TemporaryDirectory("sluice-import-concurrent")
        let data = dir.file("data")
        try Self.store(data, records: 40_000)
        try ArchiveStore.export(data, to: dir.file("a.tar.zst"))
        var input = ""
        for i in 0..<20_000 { input += "k\(i % 31)|live-\(i)\n" }
        try Data(input.utf8).write(to: URL(fileURLWithPath: dir.file("live.txt")))
        let producer = try SluiceProcess.start(
            ["produce", "dest", "-K", "|", "--batch-size", "512", "--sync-interval", "5ms"],
            dataDir: data, stdinFile: dir.file("live.txt"))
        let imported = try SluiceProcess.run(["import", dir.file("a.tar.zst"), "--topic", "dest", "--append", "--json"], dataDir: data)
        let produced = try producer.finish()
        #expect(imported.status == 0, "\(imported.err)")
        #expect(produced.status == 0, "\(produced.err)")
        let all = try lines("dest", data)
        #expect(all.count == 10 + 40_000 + 20_000)
        #expect(all.filter { $0.contains(" live-") }.count == 20_000)
        #expect(try SluiceProcess.run(["verify", "dest"], dataDir: data).status == 0)
    }
}
