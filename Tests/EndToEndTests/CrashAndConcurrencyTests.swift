import Foundation
import SluiceCore
import TestSupport
import Testing

/// SIGKILL at random moments and several writers at once (docs/ARCHITECTURE.md §3, §4).
@Suite struct CrashAndConcurrencyTests {
    /// Trials per crash test: 30 in `make test`, `SLUICE_CRASH_TRIALS` in `make test-crash`.
    static let trials = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_TRIALS"] ?? "") ?? 30

    func writeLines(_ path: String, prefix: String, count: Int) throws {
        var text = ""
        text.reserveCapacity(count * 48)
        for n in 0..<count { text += "\(prefix) \(n) ................................\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test(arguments: ["none", "zstd"])
    func producerKilledAtRandomMomentsLeavesAValidPrefix(compression: String) throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "crash", "-c", "segment.bytes=1048576"], dataDir: dir.path)
        var random = SeededRandom(seed: compression == "none" ? 20_261_121 : 11_212_026)
        let input = dir.file("input.txt")
        var killed = 0
        for trial in 0..<Self.trials {
            try writeLines(input, prefix: "t\(trial)", count: 300_000)
            let running = try SluiceProcess.start(
                ["produce", "crash", "--batch-size", "4096", "--compression", compression],
                dataDir: dir.path, stdinFile: input)
            usleep(UInt32.random(in: 2_000...90_000, using: &random))
            running.kill()
            let result = try running.finish()
            if result.status != 0 { killed += 1 }
        }
        #expect(killed > Self.trials / 3, "the kills should land mid-run most of the time")
        // The next writer recovers the torn tail, then the partition verifies clean.
        let marker = try SluiceProcess.run(["produce", "crash"], dataDir: dir.path, stdin: Data("marker\n".utf8))
        #expect(marker.status == 0, "\(marker.err)")
        let verify = try SluiceProcess.run(["verify", "crash"], dataDir: dir.path)
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")

        let lines = try SluiceProcess.run(["consume", "crash"], dataDir: dir.path).out.split(separator: "\n")
        #expect(lines.last == "marker")
        var expectedTrial = 0, expectedN = 0
        for line in lines.dropLast() {
            let fields = line.split(separator: " ")
            let trial = Int(fields[0].dropFirst())!, n = Int(fields[1])!
            if trial != expectedTrial {
                #expect(trial > expectedTrial && n == 0, "records of trial \(trial) must start at 0 after trial \(expectedTrial)")
                expectedTrial = trial
                expectedN = 0
            }
            #expect(n == expectedN, "trial \(trial): expected record \(expectedN), found \(n)")
            expectedN = n + 1
        }
    }

    @Test func concurrentProducersToOnePartitionLoseAndInterleaveNothing() throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "shared", "-c", "segment.bytes=1048576"], dataDir: dir.path)
        let writers = 6, perWriter = 40_000
        var running: [SluiceProcess.Running] = []
        for w in 0..<writers {
            let input = dir.file("in-\(w).txt")
            try writeLines(input, prefix: "w\(w)", count: perWriter)
            running.append(try SluiceProcess.start(["produce", "shared", "--batch-size", "2048"], dataDir: dir.path, stdinFile: input))
        }
        for process in running {
            let result = try process.finish()
            #expect(result.status == 0, "\(result.err)")
        }
        let lines = try SluiceProcess.run(["consume", "shared"], dataDir: dir.path).out.split(separator: "\n")
        #expect(lines.count == writers * perWriter)
        var next = [Int](repeating: 0, count: writers)
        for line in lines {
            let fields = line.split(separator: " ")
            let w = Int(fields[0].dropFirst())!, n = Int(fields[1])!
            #expect(n == next[w], "writer \(w): expected \(next[w]), found \(n)")
            next[w] = n + 1
        }
        #expect(next == [Int](repeating: perWriter, count: writers))
        #expect(try SluiceProcess.run(["verify"], dataDir: dir.path).status == 0)
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/shared-0").filter { $0.hasSuffix(".log") }
        #expect(segments.count > 5)
    }
}
