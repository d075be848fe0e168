import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// `PartitionAppender.recoverTail`: what a writer that resumes after a crash
/// and may not append again (a replayed redistribution chunk) relies on.
@Suite struct AppenderTailTests {
    @Test func recoverTailCutsATornWriteWithoutAppending() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir).partition(0)
        let expected = try appendRecords(try PartitionAppender(partition: partition), count: 120)
        let log = try partition.segments().last!.logPath
        let validSize = try FileSystem.fileSize(log)!
        // A killed writer's half batch.
        let builder = RecordBatchBuilder()
        let batch = ByteBuffer()
        builder.append(timestamp: 1, key: nil, value: UnsafeRawBufferPointer(start: nil, count: 0))
        try builder.finish(baseOffset: 120, into: batch)
        try File.open(log, .readWrite).write(UnsafeRawBufferPointer(rebasing: batch.bytes[..<(batch.count / 2)]), at: validSize)
        #expect(try partition.tail().problem != nil)

        let appender = try PartitionAppender(partition: partition)
        let (_, warnings) = try capturingWarnings { try appender.recoverTail() }
        #expect(warnings.count == 1 && warnings[0].contains("torn write"), "\(warnings)")
        #expect(try FileSystem.fileSize(log) == validSize)
        #expect(try partition.tail().problem == nil)
        #expect(try readAll(partition) == expected)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    @Test func aWriterKilledBetweenItsIndexWritesIsRecovered() throws {
        let dir = TemporaryDirectory()
        let partition = try makeTopic(dir, config: ["index.interval.bytes=256"]).partition(0)
        let expected = try appendRecords(try PartitionAppender(partition: partition), count: 400, perBatch: 7)
        // The time entry of the last indexed batch reached its file, its offset entry did not.
        let segment = try partition.segments().last!
        let index = try File.open(segment.indexPath, .readWrite)
        try index.truncate(to: try index.size() - Int64(OffsetIndexEntry.size))
        try PartitionAppender(partition: partition).recoverTail()
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
        #expect(try readAll(partition) == expected)
    }
}
