import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct EngineTests {
    @Test(arguments: [CompressionCodec.none, .zstd])
    func recordsRoundTripAcrossSegmentRolls(codec: CompressionCodec) throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["segment.bytes=8192"]).partition(0)
        let appender = try PartitionAppender(partition: partition)
        var expected: [StoredRecord] = []
        for round in 0..<20 {
            expected += try appendRecords(appender, count: 137, perBatch: 9, startIndex: round * 137, codec: codec)
        }
        try appender.sync()
        #expect(try partition.segments().count > (codec == .none ? 10 : 2))
        #expect(try readAll(partition) == expected)
        #expect(try partition.offsetRange() == (start: 0, end: Int64(expected.count)))
        #expect(try PartitionVerifier.check(partition, strict: true).problems.map(\.description) == [])
        for offset: Int64 in [0, 1, 500, 1371, Int64(expected.count - 1)] {
            #expect(try readAll(partition, from: offset).first == expected[Int(offset)])
        }
    }

    @Test func timeLookupOnAWrittenPartition() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["segment.bytes=4096"]).partition(0)
        let appender = try PartitionAppender(partition: partition)
        let expected = try appendRecords(appender, count: 3000, perBatch: 7) { 1_700_000_000_000 + Int64($0 / 3) * 10 }
        for target: Int64 in [0, 1_700_000_000_000, 1_700_000_000_005, 1_700_000_004_990, 1_700_000_009_990, 1_800_000_000_000] {
            #expect(try partition.offset(forTimestamp: target) == expected.first { $0.timestamp >= target }?.offset)
        }
    }

    @Test func segmentMsRollsByRecordAge() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["segment.ms=1000"]).partition(0)
        let appender = try PartitionAppender(partition: partition)
        // Batch k holds records 10k...10k+9, 100 ms apart: the first batch's maximum is at 900 ms, so the
        // batch ending at 2900 ms is more than segment.ms (1 s) newer and starts a segment: two batches each.
        try appendRecords(appender, count: 100, perBatch: 10) { 1_700_000_000_000 + Int64($0) * 100 }
        #expect(try partition.segments().map(\.baseOffset) == [0, 20, 40, 60, 80])
    }

    @Test func tornTailIsTheReadableEndAndRecoveryCutsIt() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        let appender = try PartitionAppender(partition: partition)
        let first = try appendRecords(appender, count: 100, perBatch: 10)
        let segment = try partition.segments().last!
        let log = try File.open(segment.logPath, .readWrite)
        let validSize = try log.size()
        // A killed writer: half of a batch made it to the file.
        let half = ByteBuffer()
        let builder = RecordBatchBuilder()
        builder.append(timestamp: 1, key: nil, value: UnsafeRawBufferPointer(start: nil, count: 0))
        try builder.finish(baseOffset: 100, into: half)
        try log.write(UnsafeRawBufferPointer(rebasing: half.bytes[0..<(half.count / 2)]), at: validSize)

        #expect(try readAll(partition) == first)
        #expect(try partition.tail().problemIsTorn)
        let (second, warnings) = try capturingWarnings {
            try appendRecords(try PartitionAppender(partition: partition), count: 5, startIndex: 100)
        }
        #expect(warnings.count == 1 && warnings[0].contains("torn write"))
        #expect(second.first?.offset == 100)
        #expect(try readAll(partition) == first + second)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    @Test func lostIndexEntriesAreRederivedOnOpen() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        let appender = try PartitionAppender(partition: partition)
        try appendRecords(appender, count: 2000, perBatch: 5)
        let segment = try partition.segments().last!
        let index = try File.open(segment.indexPath, .readWrite)
        try index.truncate(to: try index.size() - 8 * 3 - 5)
        #expect(!(try partition.tail().indexesConsistent))
        try appendRecords(try PartitionAppender(partition: partition), count: 10, startIndex: 2000)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    /// A writer killed after writing an offset entry but before its time
    /// entry: the next writer puts the time entry back.
    @Test func aTimeEntryLostWithItsOffsetEntryWrittenIsRederived() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        try appendRecords(try PartitionAppender(partition: partition), count: 2000, perBatch: 5)
        let segment = try partition.segments().last!
        let offsets = try OffsetIndexFile.open(segment.indexPath)!, times = try TimeIndexFile.open(segment.timeIndexPath)!
        #expect(try times.lastEntry?.relativeOffset == (try offsets.entry(offsets.entryCount - 1)).relativeOffset)
        try File.open(segment.timeIndexPath, .readWrite).truncate(to: Int64((times.entryCount - 1) * TimeIndexEntry.size))
        #expect(!(try partition.tail().indexesConsistent))
        try appendRecords(try PartitionAppender(partition: partition), count: 3000, startIndex: 2000)
        #expect(try PartitionVerifier.check(partition, strict: true).problems.map(\.description) == [])
    }

    @Test func damageBeforeTheTailStopsReadersAndWritersAndIsRepaired() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        let expected = try appendRecords(try PartitionAppender(partition: partition), count: 1000, perBatch: 10)
        let segment = try partition.segments().last!
        let log = try File.open(segment.logPath, .readWrite)
        let size = try log.size()
        // Flip one bit inside a record of a batch in the middle.
        var byte: [UInt8] = [0]
        let target = size / 2
        _ = try byte.withUnsafeMutableBytes { try log.readFully(into: $0, at: target) }
        byte[0] ^= 0x04
        try log.write(byte, at: target)

        let readError = #expect(throws: SluiceError.self) { _ = try readAll(partition) }
        #expect(readError?.reason == .corruptLog)
        #expect(readError?.message.contains("t-0") == true)
        #expect(readError?.message.contains(segment.logName) == true)
        #expect(readError?.kind == .checkFailed)

        let check = try PartitionVerifier.check(partition, strict: true)
        #expect(check.problems.first?.kind == .corruptEntry)
        let cut = try #require(check.cut)
        let actions = try PartitionVerifier.repair(check, sideDirectory: dir.path + "/side")
        #expect(!actions.isEmpty)
        #expect(try FileSystem.fileSize(dir.path + "/side/\(segment.logName).from-byte-\(cut.position)") == size - cut.position)
        let survivors = try readAll(partition)
        #expect(survivors == Array(expected.prefix(survivors.count)))
        #expect(survivors.count < 1000 && survivors.count >= 400)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
        // The offsets of everything cut off (up to 1000) stay reserved: new records never get them.
        #expect(actions.contains { $0.contains("reserved offsets \(survivors.count)..<1000") }, "\(actions)")
        let more = try appendRecords(try PartitionAppender(partition: partition), count: 3, startIndex: survivors.count)
        #expect(more.first?.offset == 1000)
        #expect(try readAll(partition) == survivors + more)
    }

    @Test func concurrentAppendersInOneProcessInterleaveWholeBatches() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["segment.bytes=65536"]).partition(0)
        let a = try PartitionAppender(partition: partition), b = try PartitionAppender(partition: partition)
        var total = 0
        for round in 0..<30 {
            total += try appendRecords(round % 2 == 0 ? a : b, count: 40, perBatch: 8, startIndex: total).count
        }
        let records = try readAll(partition)
        #expect(records.count == total)
        #expect(records.map(\.offset) == Array(0..<Int64(total)))
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }
}

@Suite(.serialized) struct TopicAdminTests {
    @Test func createAlterDescribeDelete() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(dir.path + "/data")
        #expect(data.kind == .empty)
        try data.createTopic("orders.v1", partitions: 2)
        #expect(data.kind == .sluice)
        #expect(throws: SluiceError.self) { try data.createTopic("orders_v1", partitions: 1) }
        #expect(throws: SluiceError.self) { try data.createTopic("orders.v1", partitions: 1) }
        try data.addPartitions("orders.v1", to: 5)
        #expect(try data.topic("orders.v1").partitionCount == 5)
        let shrink = #expect(throws: SluiceError.self) { try data.addPartitions("orders.v1", to: 3) }
        #expect(shrink?.kind == .usage && shrink?.message.contains("cannot shrink") == true)
        let config = try data.alterConfig("orders.v1", assignments: ["retention.ms=2h", "compression.type=zstd"])
        #expect(config.retentionMs == 7_200_000 && config.compression == .zstd)
        #expect(throws: SluiceError.self) { try data.alterConfig("orders.v1", assignments: ["segment.bytes=12"]) }
        try data.deleteTopic("orders.v1")
        #expect(try data.topicNames() == [])
        #expect(try FileSystem.list(data.path).filter { $0.hasPrefix("orders") } == [])
    }

    @Test(arguments: ["", ".", "..", "a/b", "../x", "a b", "x\u{0}y", String(repeating: "a", count: 250), "__internal", "ünïcode"])
    func illegalTopicNamesAreRefused(name: String) throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(dir.path)
        let error = #expect(throws: SluiceError.self) { try data.createTopic(name, partitions: 1) }
        #expect(error?.reason == .invalidName)
        #expect(try FileSystem.list(dir.path).filter { !$0.hasPrefix(".") } == [])
    }

    @Test func leftoversOfAKilledCreateAreCollected() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(dir.path)
        try data.createTopic("kept", partitions: 1)
        // A create killed before its metadata was written leaves bare directories.
        try FileSystem.makeDirectory(dir.path + "/ghost-0")
        try FileSystem.makeDirectory(dir.path + "/kept-3")
        #expect(try data.topicNames() == ["kept"])
        try data.createTopic("other", partitions: 1)
        #expect(try !FileSystem.exists(dir.path + "/ghost-0"))
        #expect(try !FileSystem.exists(dir.path + "/kept-3"))
        #expect(try FileSystem.exists(dir.path + "/kept-0"))
    }

    @Test func damagedMetadataIsReportedAndNeverCollected() throws {
        let dir = TemporaryDirectory()
        let data = try DataDirectory.open(dir.path)
        try data.createTopic("precious", partitions: 3)
        let path = dir.path + "/.sluice/topics/precious.topic"
        var bytes = try FileSystem.readIfExists(path)!
        let digit = bytes.lastIndex(of: UInt8(ascii: "3"))!
        bytes[digit] ^= 0x04
        try FileSystem.writeAtomically(path, bytes)
        let error = #expect(throws: SluiceError.self) { _ = try data.topic("precious") }
        #expect(error?.reason == .corruptMetadata)
        try data.createTopic("other", partitions: 1)
        #expect(try FileSystem.exists(dir.path + "/precious-2"))
    }
}

@Suite(.serialized) struct DiskFullTests {
    @Test(arguments: [0, 1, 2])
    func aFailedAppendLeavesThePartitionExactlyAsBefore(failingWrite: Int) throws {
        let dir = TemporaryDirectory("sluice-enospc")
        let partition = try makeTopic(dir, config: ["index.interval.bytes=128"]).partition(0)
        let kept = try appendRecords(try PartitionAppender(partition: partition), count: 300, perBatch: 10)
        let before = try snapshot(partition.directory)
        // Fail the log write, or the index write after it, or the time index write.
        FaultInjection.install([FaultInjection.Rule(call: .write, errno: .noSpace, after: failingWrite, times: 1, pathContains: dir.path)])
        defer { FaultInjection.reset() }
        let appender = try PartitionAppender(partition: partition)
        let error = #expect(throws: SluiceError.self) { try appendRecords(appender, count: 200, perBatch: 10, startIndex: 300) }
        #expect(error?.reason == .noSpace)
        #expect(error?.message.contains("needed") == true)
        #expect(try snapshot(partition.directory) == before)
        FaultInjection.reset()
        let more = try appendRecords(appender, count: 5, startIndex: 300)
        #expect(more.first?.offset == 300)
        #expect(try readAll(partition) == kept + more)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    @Test func symlinkedPartitionDirectoriesAreNeverWrittenThrough() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        let elsewhere = TemporaryDirectory()
        try FileSystem.rename(partition.directory, to: elsewhere.path + "/moved")
        #expect(symlink(elsewhere.path + "/moved", partition.directory) == 0)
        #expect(throws: SluiceError.self) { try PartitionAppender(partition: partition) }
    }
}
