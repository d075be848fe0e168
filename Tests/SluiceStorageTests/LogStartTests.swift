import KafkaFormat
import SluiceCore
import SluiceSystem
import TestSupport
import Testing

@testable import SluiceStorage

/// Moving a partition's log start (delete-records, retention): Kafka's
/// checkpoint file, segments unlinked oldest first and never the active one,
/// consistency after a run killed at any step, and readers that meet it.
@Suite(.serialized) struct LogStartTests {
    /// A partition of 10 segments of 100 records in batches of 10 (base
    /// offsets 0, 100, ..., 900): each hundred is 2 s newer than the last,
    /// and segment.ms is 1 s.
    func tenSegments(_ dir: TemporaryDirectory) throws -> (DataDirectory, Partition) {
        let partition = try makeTopic(dir, config: ["segment.ms=1000"]).partition(0)
        try appendRecords(try PartitionAppender(partition: partition), count: 1000, perBatch: 10) {
            1_700_000_000_000 + Int64($0 / 100) * 2000
        }
        let data = try DataDirectory.open(dir.path + "/data")
        return (data, try data.topic("t").partition(0))
    }

    func checkpoint(_ data: DataDirectory) throws -> String {
        String(decoding: try FileSystem.readIfExists(data.logStartCheckpointPath) ?? [], as: UTF8.self)
    }

    @Test func advancingRecordsKafkasCheckpointAndDeletesWholeSegmentsBelow() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        #expect(try partition.segments().map(\.baseOffset) == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
        let change = try data.advanceLogStart(of: partition, to: 250)
        #expect(change.previousStart == 0 && change.newStart == 250)
        #expect(change.deleted.map(\.baseOffset) == [0, 100])
        #expect(change.freedBytes > 0)
        #expect(try checkpoint(data) == "0\n1\nt 0 250\n")
        #expect(try partition.segments().first?.baseOffset == 200)
        let reopened = try DataDirectory.open(dir.path + "/data").topic("t").partition(0)
        #expect(try reopened.offsetRange() == (start: 250, end: 1000))
        #expect(try readAll(reopened).first?.offset == 250)
        #expect(try PartitionVerifier.check(reopened, strict: true).problems.isEmpty)

        // A start already beyond the point stays; the end is the limit; the active segment always stays.
        #expect(try data.advanceLogStart(of: reopened, to: 100).newStart == 250)
        #expect(throws: SluiceError.self) { try data.advanceLogStart(of: reopened, to: 1001) }
        let all = try data.advanceLogStart(of: reopened, to: 1000)
        #expect(all.deleted.map(\.baseOffset) == [200, 300, 400, 500, 600, 700, 800])
        #expect(try reopened.segments().map(\.baseOffset) == [900])
        #expect(try DataDirectory.open(dir.path + "/data").topic("t").partition(0).offsetRange() == (start: 1000, end: 1000))
    }

    @Test func aKilledRunLeavesAConsistentPartitionThatTheNextRunFinishes() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        // Killed after the checkpoint, before any unlink: the start holds; the segments below are garbage.
        try data.updateLogStarts { $0[TopicPartition("t", 0)] = 450 }
        let afterCheckpoint = try DataDirectory.open(dir.path + "/data").topic("t").partition(0)
        #expect(try afterCheckpoint.offsetRange().start == 450)
        #expect(try readAll(afterCheckpoint).count == 550)
        // Killed between unlinks: the oldest went, and one index of the next.
        let segments = try partition.segments()
        try FileSystem.removeFile(segments[0].logPath)
        try FileSystem.removeFile(segments[0].indexPath)
        try FileSystem.removeFile(segments[0].timeIndexPath)
        try FileSystem.removeFile(segments[1].logPath)
        let midway = try DataDirectory.open(dir.path + "/data").topic("t").partition(0)
        #expect(try midway.offsetRange().start == 450)
        #expect(try PartitionVerifier.check(midway, strict: true).problems.isEmpty)
        // The next run finishes: the rest below the start and the orphaned indexes go.
        let change = try data.advanceLogStart(of: midway, to: 450)
        #expect(change.deleted.map(\.baseOffset) == [200, 300])
        #expect(try !FileSystem.exists(segments[1].indexPath) && !FileSystem.exists(segments[1].timeIndexPath))
        #expect(try midway.segments().first?.baseOffset == 400)
    }

    @Test func onAFullDiskSegmentsGoFirstAndTheCheckpointFollows() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        // The first attempt to write the checkpoint fails for want of space; the retry, after the unlinks, succeeds.
        FaultInjection.install([.init(call: .write, errno: .noSpace, times: 1, pathContains: "log-start-offset-checkpoint")])
        defer { FaultInjection.reset() }
        let change = try data.advanceLogStart(of: partition, to: 320)
        #expect(change.deleted.map(\.baseOffset) == [0, 100, 200])
        #expect(try checkpoint(data) == "0\n1\nt 0 320\n")
        #expect(try DataDirectory.open(dir.path + "/data").topic("t").partition(0).offsetRange().start == 320)
    }

    @Test func aReaderWithADeletedSegmentOpenFinishesItThenMeetsTheNewStart() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        // Positioned in the first segment with small reads, so it has the file open mid-way.
        let reader = try PartitionReader(partition: partition, from: 10, chunkSize: 512)
        guard case .batch(let first, _)? = try reader.next() else { Issue.record("no batch"); return }
        #expect(first.header.baseOffset == 10)
        try data.advanceLogStart(of: partition, to: 300)
        #expect(try !FileSystem.exists(partition.directory + "/00000000000000000000.log"))
        // The open segment reads to its end, byte for byte (POSIX unlink semantics)...
        var offsets: [Int64] = []
        let error = #expect(throws: SluiceError.self) {
            while let entry = try reader.next() {
                if case .batch(let batch, _) = entry { offsets.append(batch.header.baseOffset) }
            }
        }
        #expect(offsets == Array(stride(from: 20, to: 100, by: 10)))
        // ...and the deleted next segment is a clear error naming the new start, never garbage.
        #expect(error?.reason == .offsetOutOfRange)
        #expect(error?.message.contains("the log now starts at 300") == true)
    }

    @Test func aReaderCrossingIntoRecordsBelowANewStartIsStopped() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        let reader = try PartitionReader(partition: partition, from: 150, chunkSize: 512)
        _ = try reader.next()
        // delete-records inside the next segment: the segment stays on disk, its records below 250 do not.
        try data.advanceLogStart(of: partition, to: 250)
        var last: Int64 = 0
        let error = #expect(throws: SluiceError.self) {
            while let entry = try reader.next() { if case .batch(let batch, _) = entry { last = batch.header.lastOffset } }
        }
        #expect(last == 199)
        #expect(error?.reason == .offsetOutOfRange)
    }

    @Test func aRecreatedTopicDoesNotInheritTheOldStart() throws {
        let dir = TemporaryDirectory()
        let (data, partition) = try tenSegments(dir)
        try data.advanceLogStart(of: partition, to: 500)
        try data.deleteTopic("t")
        #expect(try checkpoint(data) == "0\n0\n")
        let again = try data.createTopic("t", partitions: 1).partition(0)
        try appendRecords(try PartitionAppender(partition: again), count: 5)
        #expect(try DataDirectory.open(dir.path + "/data").topic("t").partition(0).offsetRange() == (start: 0, end: 5))
    }

    @Test func kafkaCheckpointFilesReadAsKafkaReadsThem() throws {
        #expect(try OffsetCheckpointFile.parse([], what: "empty") == [:])
        #expect(
            try OffsetCheckpointFile.parse(Array("0\n2\nt 0 5\nmy-topic 12 9\n".utf8), what: "x") == [
                TopicPartition("t", 0): 5, TopicPartition("my-topic", 12): 9,
            ])
        #expect(throws: SluiceError.self) { try OffsetCheckpointFile.parse(Array("1\n0\n".utf8), what: "x") }
        #expect(throws: SluiceError.self) { try OffsetCheckpointFile.parse(Array("0\n2\nt 0 5\n".utf8), what: "x") }
        #expect(
            OffsetCheckpointFile.encode([TopicPartition("b", 1): 3, TopicPartition("a", 10): 7]) == Array("0\n2\na 10 7\nb 1 3\n".utf8))
    }
}

/// Long storage work stops between segments when asked (SIGINT/SIGTERM).
@Suite struct StoppableVerifyTests {
    @Test func verifyStopsBetweenSegments() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["segment.ms=1000"]).partition(0)
        try appendRecords(try PartitionAppender(partition: partition), count: 300, perBatch: 10) {
            1_700_000_000_000 + Int64($0 / 100) * 2000
        }
        var asked = 0
        let error = #expect(throws: SluiceError.self) {
            try PartitionVerifier.check(partition, strict: true) {
                asked += 1; return asked == 2
            }
        }
        #expect(error?.reason == .interrupted)
        #expect(error?.message.contains("00000000000000000100.log") == true)
        #expect(try PartitionVerifier.check(partition, strict: true) { false }.records == 300)
    }
}
