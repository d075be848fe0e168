import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// Partitions written by real Kafka brokers (fixtures/kafka/README.md lists the facts checked here).
@Suite struct RealKafkaPartitionTests {
    /// pinterest/tiered-storage timeindex_test: one partition directory, 4 segments.
    func timeindexPartition() -> Partition {
        Partition(
            topic: "timeindex_test", index: 0, directory: Fixtures.path("pinterest-timeindex_test"),
            config: TopicConfig(), isWritable: false)
    }

    @Test func timeindexPartitionHoldsItsDocumentedRecords() throws {
        let partition = timeindexPartition()
        #expect(try partition.segments().map(\.baseOffset) == [0, 7729, 15363, 22964])
        #expect(try partition.offsetRange() == (start: 0, end: 30565))
        let records = try readAll(partition)
        #expect(records.count == 30565)
        #expect(records.map(\.offset) == Array(0..<30565))
        #expect(
            records.allSatisfy { $0.headers.count == 4 && $0.headers[0] == Array("header1".utf8) && $0.headers[2] == Array("header2".utf8) }
        )
    }

    @Test func timeindexPartitionIsAnIdempotentProducersSingleRecordBatches() throws {
        for segment in try timeindexPartition().segments() {
            let log = try File.open(segment.logPath)
            let scanner = SegmentScanner(file: log, limit: try log.size(), from: 0, buffer: ByteBuffer(capacity: 1 << 20))
            var batches = 0
            while case .batch(let b) = try scanner.next() {
                #expect(b.header.magic == 2 && b.header.recordsCount == 1)
                #expect(b.header.producerId == 0 && b.header.producerEpoch == 0)
                #expect(Int64(b.header.baseSequence) == b.header.baseOffset)
                batches += 1
            }
            #expect(scanner.position == (try log.size()))
            #expect(batches > 7000)
        }
    }

    @Test func rebuildingTheIndexesGivesTheBrokersBytes() throws {
        for segment in try timeindexPartition().segments() {
            let (offsets, times) = try PartitionVerifier.expectedEntries(segment, sealed: true, interval: 4096)
            let offsetBytes = ByteBuffer(), timeBytes = ByteBuffer()
            offsets.forEach { $0.append(to: offsetBytes) }
            times.forEach { $0.append(to: timeBytes) }
            #expect(offsetBytes.array == (try FileSystem.readIfExists(segment.indexPath)), "\(segment.indexPath)")
            #expect(timeBytes.array == (try FileSystem.readIfExists(segment.timeIndexPath)), "\(segment.timeIndexPath)")
        }
        let sizes = try timeindexPartition().segments().map {
            (try FileSystem.fileSize($0.indexPath)!, try FileSystem.fileSize($0.timeIndexPath)!)
        }
        #expect(sizes.map(\.0) == [1992, 2016, 2024, 2024])
        #expect(sizes.map(\.1) == [3000, 3024, 3048, 3048])
    }

    @Test func timeLookupAgreesWithAFullScan() throws {
        let partition = timeindexPartition()
        let records = try readAll(partition)
        var random = SeededRandom(seed: 42)
        let low = records.first!.timestamp, high = records.last!.timestamp
        for _ in 0..<40 {
            let target = Int64.random(in: (low - 10)...(high + 10), using: &random)
            let expected = records.first { $0.timestamp >= target }?.offset
            #expect(try partition.offset(forTimestamp: target) == expected, "timestamp \(target)")
        }
    }

    @Test func offsetLookupStartsAtTheRightBatch() throws {
        let partition = timeindexPartition()
        for offset: Int64 in [0, 1, 4095, 7728, 7729, 20000, 30564] {
            #expect(try readAll(partition, from: offset).first?.offset == offset)
        }
        #expect(try readAll(partition, from: 30565).isEmpty)
    }

    @Test func testTopicADirectoryOpensReadOnlyWithItsRecordCounts() throws {
        let data = try DataDirectory.open(Fixtures.path("pinterest-test_topic_a"))
        #expect(data.kind == .partitionsOnly)
        #expect(try data.topicNames() == ["test_topic_a"])
        let topic = try data.topic("test_topic_a")
        #expect(topic.partitionIndices == [0, 1, 2])
        #expect(try topic.partitions().map { try readAll($0).count } == [10995, 10019, 10249])
        #expect(throws: SluiceError.self) { try data.createTopic("x", partitions: 1) }
        #expect(throws: SluiceError.self) { try PartitionAppender(partition: topic.partition(0)) }
    }

    @Test func brokerWrittenPartitionsVerifyClean() throws {
        let topic = try DataDirectory.open(Fixtures.path("pinterest-test_topic_a")).topic("test_topic_a")
        for partition in try topic.partitions() {
            let check = try PartitionVerifier.check(partition, strict: false)
            #expect(check.problems.map(\.description) == [])
        }
        let check = try PartitionVerifier.check(timeindexPartition(), strict: false)
        #expect(check.isClean)
        #expect(check.records == 30565)
    }
}
