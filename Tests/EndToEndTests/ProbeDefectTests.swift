import Foundation
import SluiceCore
import TestSupport
import Testing

/// The defects an adversarial probe of the release binary found (issue 14),
/// each as the probe ran it. Every test fails on the binary before the fix.
@Suite struct ProbeDefectTests {
    func lines(_ count: Int) -> String { (1...count).map { "\($0)-" + String(repeating: "0", count: 100) + "\n" }.joined() }

    func flipByte(_ path: String, fromEnd: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count - fromEnd] ^= 1
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// D1: a bit flip in the last batch, which an index entry points at.
    @Test func aDamagedLastBatchKeepsTheEndAndRefusesWritersUntilARepairReservesItsOffsets() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t", "-q"], stdin: lines(20000)).status == 0)
        try store.ok(["consume", "t", "--group", "g", "--max-messages", "15000", "-q"])
        try flipByte(store.path + "/t-0/00000000000000000000.log", fromEnd: 30)

        let end = try JSONValue.parse(try store.ok(["topic", "describe", "t", "--json"]).out)["partitions"]!.arrayValue![0]["end_offset"]!
            .int64Value!
        #expect(end > 19000 && end < 20000, "the end is the last valid batch's: \(end)")
        let consumed = try store.sluice(["consume", "t", "--from", "15000", "--max-messages", "2", "--format", "%o\\n"])
        #expect(consumed.out == "15000\n15001\n")
        let lag = try store.sluice(["lag", "--max-lag", "100", "--quiet"])
        #expect(lag.status == 2, "lag \(end - 15000) is above 100")
        let produced = try store.sluice(["produce", "t"], stdin: "marker\n")
        #expect(produced.status == 2 && produced.err.contains("damaged") && produced.err.contains("verify t --repair"), "\(produced.err)")

        let repaired = try store.ok(["verify", "t", "--repair"])
        #expect(repaired.out.contains("reserved offsets \(end)..<20000"), "\(repaired.out)")
        try #require(try store.sluice(["produce", "t"], stdin: "marker\n").status == 0)
        #expect(try store.ok(["consume", "t", "--from", "20000", "--format", "%o %v\\n"]).out == "20000 marker\n")
        try store.ok(["verify", "t"])
    }

    /// D1: a group that committed past the damage is never reset to re-read or skip.
    @Test func aGroupCommittedPastALostTailIsToldSoAndItsOffsetIsReserved() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t", "-q"], stdin: lines(2000)).status == 0)
        try store.ok(["consume", "t", "--group", "g", "-q"])
        try flipByte(store.path + "/t-0/00000000000000000000.log", fromEnd: 30)
        let resumed = try store.sluice(["consume", "t", "--group", "g", "--format", "%o\\n"])
        #expect(resumed.status == 2 && resumed.out.isEmpty && resumed.err.contains("lost or damaged"), "\(resumed.err)")
        try store.ok(["verify", "t", "--repair"])
        try #require(try store.sluice(["produce", "t"], stdin: "next\n").status == 0)
        #expect(try store.ok(["consume", "t", "--group", "g", "--format", "%o %v\\n"]).out == "2000 next\n")
    }

    /// D3: an extreme timestamp is refused at produce; one already in a file breaks no reader.
    @Test func extremeTimestampsAreRefusedAndReadersSurviveThem() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "ts"])
        for timestamp in ["-9223372036854775808", "-2", "253402300800000"] {
            let produced = try store.sluice(["produce", "ts", "--json"], stdin: #"{"value":"a","timestamp":\#(timestamp)}"# + "\n")
            #expect(produced.status == 64 && produced.err.contains("outside the range"), "\(timestamp): \(produced.err)")
        }
        try store.ok(["consume", "ts", "--group", "g", "-q"])
    }

    /// D4: a topic created again starts without the deleted one's offsets.
    @Test func aRecreatedTopicDoesNotInheritCommittedOffsets() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t"], stdin: (1...100).map { "\($0)\n" }.joined()).status == 0)
        try store.ok(["consume", "t", "--group", "g", "-q"])
        try store.ok(["topic", "delete", "t", "--yes"])
        #expect(try store.committed("g") == ["t-0": 100], "lag still shows what g had consumed of the deleted topic")
        let created = try store.ok(["topic", "create", "t"])
        #expect(created.err.contains("left from a deleted topic of that name (group g)"), "\(created.err)")
        #expect(try store.committed("g") == [:])
        try #require(try store.sluice(["produce", "t"], stdin: (1...150).map { "\($0)\n" }.joined()).status == 0)
        #expect(try store.ok(["consume", "t", "--group", "g"]).out.split(separator: "\n").count == 150)
    }

    /// D5: every write command refuses the internal offsets topic.
    @Test func writeCommandsRefuseTheInternalTopic() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t"], stdin: "a\n").status == 0)
        let archive = store.dir.path + "/t.tar.zst"
        try store.ok(["export", "t", "-o", archive, "-q"])
        let before = try store.snapshot()
        for command in [
            ["topic", "delete", "__consumer_offsets", "--yes"], ["produce", "__consumer_offsets"],
            ["topic", "alter", "__consumer_offsets", "--partitions", "60"],
            ["import", archive, "--topic", "__consumer_offsets", "--append"],
            ["redistribute", "start", "__consumer_offsets", "--group", "g", "--execute"],
        ] {
            let result = try store.sluice(command, stdin: "x\n")
            #expect(result.status == 64 && result.err.contains("internal topic"), "\(command): \(result.status) \(result.err)")
        }
        #expect(try store.snapshot() == before)
    }

    /// D6: a full export target is not a full data directory.
    @Test func aFullDestinationIsNamedAndNoRecordsAreToBeDeleted() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t", "-q"], stdin: lines(1000)).status == 0)
        let target = store.dir.path + "/out.tar.zst"
        let result = try store.sluice(["export", "t", "-o", target], environment: ["SLUICE_FAULTS": "write:ENOSPC:path=out.tar.zst"])
        #expect(result.status == 1)
        #expect(
            result.err.contains("out.tar.zst") && !result.err.contains("data directory") && !result.err.contains("retention"),
            "\(result.err)")
    }

    /// D7: durations too long for any clock are usage errors.
    @Test func overlongDurationsAreUsageErrors() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        for command in [
            ["consume", "t", "--group", "g", "--lock-timeout", "100000000d"],
            ["consume", "t", "--group", "g", "--commit-interval", "9223372036854775807ms"],
            ["group", "seek", "g", "--topic", "t", "--to-earliest", "--execute", "--wait-inactive", "1000000w"],
            ["lag", "--watch", "9223372036854775807ms"], ["group", "seek", "g", "--topic", "t", "--by-duration", "P99999999D"],
        ] {
            let result = try store.sluice(command)
            #expect(result.status == 64 && result.err.contains("too long"), "\(command): \(result.status) \(result.err)")
        }
    }

    /// D9: the next export removes what a killed one left.
    @Test func aKilledExportsTemporaryFileIsRemovedByTheNext() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        try #require(try store.sluice(["produce", "t"], stdin: "a\n").status == 0)
        let target = store.dir.path + "/out.tar.zst"
        let dead = try SluiceProcess.start(["--version"])
        _ = try dead.finish()
        let leftover = target + ".tmp-\(dead.pid)"
        FileManager.default.createFile(atPath: leftover, contents: Data("partial".utf8))
        try store.ok(["export", "t", "-o", target, "-q"])
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(FileManager.default.fileExists(atPath: target))
    }

    /// D10: a data directory given through a symbolic link opens.
    @Test func aSymlinkedDataDirectoryOpens() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "t"])
        let link = store.dir.path + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: store.path)
        for path in [link, link + "/", link + "/.", store.dir.path + "/linkparent/data"] {
            if path.contains("linkparent") {
                try FileManager.default.createSymbolicLink(atPath: store.dir.path + "/linkparent", withDestinationPath: store.dir.path)
            }
            let listed = try SluiceProcess.run(["topic", "list", "--data-dir", path])
            #expect(listed.status == 0 && listed.out.contains("t"), "\(path): \(listed.err)")
        }
    }

    /// The descriptor limit: a keyed produce to 500 partitions under a hard limit of 256 files.
    @Test func aProducerWritesToMorePartitionsThanItMayOpenFiles() throws {
        let store = try GroupStore()
        try store.ok(["topic", "create", "wide", "-p", "500"])
        let input = (0..<20000).map { "k\($0)|v\($0)\n" }.joined()
        let script = "ulimit -n 256 && exec \"$0\" produce wide --key-separator '|' -q --data-dir \"$1\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script, SluiceProcess.binary, store.path]
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(err)")
        let described = try JSONValue.parse(try store.ok(["topic", "describe", "wide", "--json"]).out)
        #expect(described["partitions"]!.arrayValue!.reduce(Int64(0)) { $0 + ($1["end_offset"]?.int64Value ?? 0) } == 20000)
    }
}
