import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// kafka-go's captured segment slices (KafkaGoFetch) laid out as a broker's
/// partition directory: gzip v2 batches and gzip legacy wrappers among plain entries.
@Suite struct CompressedLegacyPartitionTests {
    /// A read-only partition whose one segment, based at 0, holds `log`.
    func partition(holding log: [UInt8], in dir: TemporaryDirectory) throws -> Partition {
        let directory = dir.file("kgo-0")
        try FileSystem.makeDirectories(directory)
        try FileSystem.writeAtomically(directory + "/00000000000000000000.log", log)
        return Partition(topic: "kgo", index: 0, directory: directory, config: TopicConfig(), isWritable: false)
    }

    @Test(arguments: KafkaGoFetch.captures.map(\.file))
    func readersAndVerifySeeEveryInnerMessage(file: String) throws {
        let dir = TemporaryDirectory()
        let keys = KafkaGoFetch.captures.first { $0.file == file }!.keys
        let partition = try partition(holding: try KafkaGoFetch.recordSet(file), in: dir)
        let records = try readAll(partition)
        #expect(records.map(\.offset) == Array(0..<Int64(keys.count)))
        #expect(records.map { String(decoding: $0.key!, as: UTF8.self) } == keys)
        #expect(records.map { String(decoding: $0.value!, as: UTF8.self) } == keys.map(KafkaGoFetch.value(forKey:)))
        let check = try PartitionVerifier.check(partition, strict: true)
        #expect(check.problems.map(\.description) == [])
        #expect(check.records == Int64(keys.count))
    }

    /// A start offset inside a wrapper skips the wrapper's earlier messages.
    @Test func readingFromInsideAWrapper() throws {
        let dir = TemporaryDirectory()
        let partition = try partition(holding: try KafkaGoFetch.recordSet("kgo_v1-v1c-v2-v2c-v2b-v2b-v2b-v2bc-v1b-v1bc.hex"), in: dir)
        // Offsets 18 and 19 are the two messages of the last (gzip, magic 1) wrapper, whose own offset is 19.
        #expect(try readAll(partition, from: 18).map(\.offset) == [18, 19])
        #expect(try readAll(partition, from: 19).map(\.offset) == [19])
        #expect(try readAll(partition, from: 15).map(\.offset) == [15, 16, 17, 18, 19])
    }

    @Test func timeLookupFindsAMessageInsideAWrapper() throws {
        let dir = TemporaryDirectory()
        // The first wrapper holds alpha (…948492) and beta (…948532).
        let partition = try partition(holding: try KafkaGoFetch.recordSet("kgo_v1c-v1c.hex"), in: dir)
        #expect(try partition.offset(forTimestamp: 1_633_413_948_500) == 1)
        #expect(try partition.offset(forTimestamp: 1_633_413_948_000) == 0)
        #expect(try partition.summary().oldestTimestamp == 1_633_413_948_492)
    }

    /// A wrapper whose CRC-32 is right but whose gzip value is damaged stops
    /// readers with the partition, segment and byte, and is an invalid-records problem for verify.
    @Test func aDamagedWrapperIsCorruption() throws {
        var log = try KafkaGoFetch.recordSet("kgo_v1c-v1c.hex")
        let firstSize = Int(log.withUnsafeBytes { $0.loadBigEndian(at: 8, as: Int32.self) }) + RecordBatchHeader.logOverhead
        log[firstSize - 20] ^= 0xFF
        let crc = log.withUnsafeBytes { CRC32.checksum($0.baseAddress! + 16, count: firstSize - 16) }
        log.withUnsafeMutableBytes { $0.baseAddress!.storeBigEndian(crc, at: 12) }
        let dir = TemporaryDirectory()
        let partition = try partition(holding: log, in: dir)
        let error = #expect(throws: SluiceError.self) { _ = try readAll(partition) }
        #expect(error?.reason == .corruptLog)
        #expect(error?.message.contains("segment 00000000000000000000.log") == true)
        #expect(error?.message.contains("gzip messages do not decompress") == true, "\(String(describing: error))")
        let check = try PartitionVerifier.check(partition, strict: false)
        #expect(check.problems.map(\.kind) == [.invalidRecords])
        #expect(check.problems.first?.position == 0)
        #expect(check.records == 2)
    }
}
