import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// `Verification`, what `sluice verify` runs: the report of a clean and of a
/// damaged topic, the repair and where it keeps what it cuts off.
@Suite struct VerificationTests {
    /// Flips a byte near the end of the last segment of `partition`: inside its last batch, whose CRC then fails.
    func damageTheTail(_ partition: Partition) throws {
        let file = try File.open(try partition.segments().last!.logPath, .readWrite)
        let position = try file.size() - 10
        var byte: UInt8 = 0
        _ = try withUnsafeMutableBytes(of: &byte) { try file.readFully(into: $0, at: position) }
        byte ^= 0x10
        try withUnsafeBytes(of: &byte) { try file.write($0, at: position) }
    }

    @Test func aCleanTopicHasNoProblemsAndEveryPartitionIsCounted() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, partitions: 2, records: 100)
        let report = try Verification(directory: data, topics: [], repair: false).run(shouldStop: { false })
        #expect(report.topicCount == 1 && report.partitionCount == 2 && report.checks.count == 2)
        #expect(report.problems.isEmpty && report.repairs.isEmpty)
        #expect(report.records == 100 + 117)
        #expect(report.json["version"]?.intValue == 1 && report.json["problems"]?.intValue == 0)
        #expect(report.json["partitions"]?.arrayValue?.map { $0["records"]?.int64Value } == [100, 117])
        #expect(try FileSystem.listIfExists(data.repairsPath) ?? [] == [], "nothing to repair, nothing kept")
    }

    @Test func aDamagedTailIsReportedAndRepairedAndTheCutKeptUnderTheRepairsDirectory() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, partitions: 2, records: 100)
        try damageTheTail(try data.topic("orders").partition(1))

        let found = try Verification(directory: data, topics: ["orders"], repair: false).run(shouldStop: { false })
        // The CRC of the last batch fails, and the index entries pointing at it are stale.
        #expect(Set(found.problems.map(\.partition)) == ["orders-1"] && found.problems.first?.kind == .corruptEntry, "\(found.problems)")
        #expect(found.repairs.isEmpty && found.json["problems"]?.intValue == found.problems.count)

        let verification = try Verification(directory: data, topics: ["orders"], repair: true)
        let repaired = try verification.run(shouldStop: { false })
        #expect(repaired.problems.count == found.problems.count)
        #expect(repaired.repairs.contains { $0.hasPrefix("truncated orders-1 ") }, "\(repaired.repairs)")
        #expect(data.repairsPath == data.metaPath + "/repairs")
        let kept = try FileSystem.list(data.repairsPath)
        #expect(kept.count == 1 && kept[0].hasPrefix("orders-1-"), "\(kept)")
        #expect(repaired.repairs.contains { $0.contains("kept in \(data.repairsPath)/\(kept[0])") }, "\(repaired.repairs)")
        #expect(try verification.remainingProblems().isEmpty)
    }

    @Test func stoppingEndsTheRunWithThePartialReport() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, partitions: 3, records: 100)
        var polls = 0
        let stopAfterTheFirstPartition: () -> Bool = {
            polls += 1
            return polls > 1
        }
        // Each partition of 100 records is one segment, so the check polls once per partition.
        let error = #expect(throws: Verification.Interrupted.self) {
            try Verification(directory: data, topics: ["orders"], repair: false).run(shouldStop: stopAfterTheFirstPartition)
        }
        #expect(error?.partial.checks.count == 1 && error?.partial.partitionCount == 3)
    }
}
