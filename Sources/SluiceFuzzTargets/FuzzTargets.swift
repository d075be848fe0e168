import KafkaFormat
import KafkaProtocol
import SluiceCompression
import SluiceCore
import SluiceGroups
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// One fuzzing entry point: it feeds arbitrary bytes to a decoder or parser
/// of hostile input. Errors are the expected outcome; a trap, a sanitizer
/// report or a broken invariant (a `precondition` here) is a finding.
public struct FuzzTarget: Sendable {
    public let name: String
    public let summary: String
    public let run: @Sendable (UnsafeRawBufferPointer) -> Void
}

/// The targets `make fuzz` runs (`sluice-fuzz` selects one by name) and the
/// fuzz regression tests replay. Checksums are recomputed over the input
/// where a format has one, or the fuzzer would never get past them: a
/// hostile file (or archive) can carry correct checksums too.
public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "batch", summary: "RecordBatch framing, header checks and records (all codecs), legacy messages", run: batch),
        FuzzTarget(
            name: "segment", summary: "a segment (log, index, time index) through recovery, readers, lookups and verify", run: segment),
        FuzzTarget(name: "index", summary: "offset and time index readers and searches", run: index),
        FuzzTarget(
            name: "offsets-log",
            summary: "a __consumer_offsets partition: commit keys, values, annotations, transactions",
            run: offsetsLog),
        FuzzTarget(name: "offsets-snapshot", summary: "an offsets-store snapshot", run: offsetsSnapshot),
        FuzzTarget(name: "archive", summary: "an archive: zstd stream, tar, manifest, segments, summary", run: archive),
        FuzzTarget(name: "time", summary: "times and durations (TimeParsing)", run: time),
        FuzzTarget(name: "start-position", summary: "consume --from (StartPosition)", run: startPosition),
        FuzzTarget(name: "seek-plan", summary: "group seek --from-file plans and --topic scopes", run: seekPlan),
        FuzzTarget(name: "topic-metadata", summary: "checksummed topic metadata and its config", run: topicMetadata),
        FuzzTarget(name: "json", summary: "the JSON parser (manifests, metadata, produce --json)", run: json),
        FuzzTarget(
            name: "protocol", summary: "every Kafka response decoder at every spoken version, and response frames", run: kafkaResponse),
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: - record batches

    static func batch(_ input: UnsafeRawBufferPointer) {
        _ = LogEntryFrame.inspect(input, at: 0)
        // As a Fetch's record set (LogEntries), the way a cluster's bytes are read.
        var entries = LogEntries(input)
        let decoder = BatchDecoder()
        while let entry = try? entries.next() {
            if case .batch(let header, let batch) = entry { readRecords(batch, header, decoder) }
        }
        let bytes = ByteBuffer(capacity: max(64, input.count))
        bytes.append(input)
        guard bytes.count > RecordBatchHeader.magicOffset else { return }
        switch bytes.base.load(fromByteOffset: RecordBatchHeader.magicOffset, as: Int8.self) {
        case 2:
            guard bytes.count >= RecordBatchHeader.size else { return }
            Checksums.fixBatch(bytes.base, count: bytes.count)
            let header = RecordBatchHeader(UnsafeRawPointer(bytes.base))
            try? header.validate(bytes.bytes)
            guard header.totalSize == bytes.count else { return }
            readRecords(bytes.bytes, header, decoder)
        case 0, 1:
            Checksums.fixLegacy(bytes.base, count: bytes.count)
            guard let message = try? LegacyMessage.parse(bytes.bytes), let messages = try? decoder.messages(of: message) else { return }
            for message in messages { touch(message.key); touch(message.value) }
        default:
            return
        }
    }

    /// Decodes every record and header, touching every byte they point at
    /// (so a view outside the batch is a sanitizer report).
    static func readRecords(_ batch: UnsafeRawBufferPointer, _ header: RecordBatchHeader, _ decoder: BatchDecoder) {
        guard var records = try? decoder.records(of: batch, header: header) else { return }
        while let record = try? records.next() {
            touch(record.key)
            touch(record.value)
            for h in record.headers {
                touch(h.key)
                touch(h.value)
            }
        }
    }

    @inline(never)
    static func touch(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else { return }
        var sum: UInt8 = 0
        for b in bytes { sum &+= b }
        blackHole(sum)
    }

    @inline(never)
    static func blackHole(_ value: UInt8) { sink &+= value }
    nonisolated(unsafe) static var sink: UInt8 = 0

    // MARK: - segments and indexes

    /// Input: two little-endian 16-bit lengths (index, time index), those
    /// files' bytes, then the log (checksums recomputed).
    static func segment(_ input: UnsafeRawBufferPointer) {
        let files = SegmentFiles(input)
        let dir = Scratch.directory("segment") + "/f-0"
        try? FileSystem.removeTree(dir)
        try? FileSystem.makeDirectories(dir)
        let segment = Segment(directory: dir, baseOffset: 0)
        Scratch.write(segment.logPath, files.log)
        Scratch.write(segment.indexPath, files.index)
        Scratch.write(segment.timeIndexPath, files.timeIndex)
        let reading = Partition(topic: "f", index: 0, directory: dir, config: TopicConfig(), isWritable: false)
        _ = try? TailInspection.inspect(segment, indexInterval: 4096)
        _ = try? PartitionVerifier.check(reading, strict: true)
        _ = try? PartitionVerifier.check(reading, strict: false)
        if let reader = try? PartitionReader(partition: reading, from: 0) {
            let decoder = BatchDecoder()
            var entries = 0
            while entries < 100_000, let entry = try? reader.next() {
                entries += 1
                switch entry {
                case .batch(let batch, _): readRecords(batch.bytes, batch.header, decoder)
                case .legacy(let message): touch(message.value)
                }
            }
        }
        let probe = files.log.count >= 16 ? files.log.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int64.self) } : 7
        _ = try? reading.locate(probe & 0xFFFF, in: [segment])
        _ = try? reading.offset(forTimestamp: probe)
        _ = try? reading.summary()
        // A writer recovers the tail and appends after it.
        let writing = Partition(topic: "f", index: 0, directory: dir, config: TopicConfig(), isWritable: true)
        if let appender = try? PartitionAppender(partition: writing) {
            let batch = ByteBuffer(capacity: 256)
            let builder = RecordBatchBuilder()
            "v".utf8CString.withUnsafeBytes { value in
                builder.append(
                    timestamp: 1, key: nil, value: UnsafeRawBufferPointer(rebasing: value.dropLast()), headerCount: 0,
                    encodedHeaders: UnsafeRawBufferPointer(start: nil, count: 0))
            }
            if (try? builder.finish(baseOffset: 0, into: batch)) != nil { _ = try? appender.append(batch) }
        }
        _ = try? PartitionVerifier.check(writing, strict: true)
    }

    static func index(_ input: UnsafeRawBufferPointer) {
        let path = Scratch.directory("index") + "/i"
        Scratch.write(path, Array(input))
        let probe = input.count >= 8 ? input.loadUnaligned(fromByteOffset: input.count - 8, as: Int64.self) : 0
        if let offsets = try? OffsetIndexFile.open(path) {
            _ = try? offsets.readAll()
            _ = try? offsets.floorEntry(relativeOffset: Int32(truncatingIfNeeded: probe))
            _ = try? offsets.floorEntry(relativeOffset: Int32(truncatingIfNeeded: probe >> 32), limit: Int(probe & 0xFF))
        }
        if let times = try? TimeIndexFile.open(path) {
            _ = try? times.readAll()
            _ = try? times.lastEntry
            _ = try? times.lastEntry(before: probe)
        }
    }

    // MARK: - the offsets store

    /// A group stored in offsets partition 0 of 50.
    static let groupInPartitionZero: String = {
        var n = 0
        while ConsumerOffsetsPartitioner.partition(forGroup: "g\(n)") != 0 { n += 1 }
        return "g\(n)"
    }()

    /// Input: the log of `__consumer_offsets-0` of a broker-like directory (checksums recomputed).
    static func offsetsLog(_ input: UnsafeRawBufferPointer) {
        let root = Scratch.directory("offsets-log")
        let dir = root + "/__consumer_offsets-0"
        try? FileSystem.removeTree(dir)
        try? FileSystem.makeDirectories(dir)
        Scratch.write(dir + "/00000000000000000000.log", Checksums.fixedLog(input))
        guard let directory = try? DataDirectory.open(root) else { return }
        let store = OffsetsStore(directory: directory)
        _ = try? store.allOffsets()
        _ = try? store.history(of: groupInPartitionZero)
    }

    /// A sluice data directory whose group `g` has committed twice, with a
    /// snapshot after each commit; the input replaces that snapshot (its
    /// trailing CRC-32C recomputed).
    static let snapshotStore: (path: String, snapshot: String) = {
        let root = Scratch.directory("offsets-snapshot") + "/data"
        try? FileSystem.removeTree(root)
        guard let directory = try? DataDirectory.open(root) else { return (root, "") }
        _ = try? directory.createTopic("t", partitions: 2)
        let store = OffsetsStore(directory: directory)
        store.snapshotInterval = 1
        for offset in [Int64(3), 5] {
            try? store.commit(
                group: "g",
                changes: [OffsetChange(TopicPartition("t", 0), offset: offset), OffsetChange(TopicPartition("t", 1), offset: offset + 1)],
                annotations: CommitAnnotations(operation: .commit))
        }
        let state = directory.metaPath + "/groups/state"
        let snapshot = ((try? FileSystem.list(state)) ?? []).first { $0.hasSuffix(".snapshot") }.map { state + "/" + $0 } ?? ""
        return (root, snapshot)
    }()

    static func offsetsSnapshot(_ input: UnsafeRawBufferPointer) {
        let (root, snapshot) = snapshotStore
        guard !snapshot.isEmpty else { return }
        var bytes = Array(input)
        if bytes.count >= 8 {
            let crc = CRC32C.checksum(Array(bytes.dropLast(4)))
            for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        }
        Scratch.write(snapshot, bytes)
        guard let directory = try? DataDirectory.open(root) else { return }
        let store = OffsetsStore(directory: directory)
        _ = try? store.offsets(of: "g")
        _ = try? store.allOffsets()
    }

    /// The snapshot `offsets-snapshot` starts from (a seed).
    public static var snapshotSeed: [UInt8] { (try? FileSystem.readIfExists(snapshotStore.snapshot)) ?? nil ?? [] }

    // MARK: - archives

    /// Input: a zstd stream (it starts with the zstd magic), or the tar it
    /// holds, compressed here so the fuzzer can reach the tar, manifest,
    /// segments and summary.
    static func archive(_ input: UnsafeRawBufferPointer) {
        var bytes = Array(input)
        if !bytes.starts(with: Zstd.frameMagic) {
            let compressed = ByteBuffer(capacity: 64 + input.count)
            guard (try? ZstdCompressor(level: 1).compress(input, appendingTo: compressed)) != nil else { return }
            bytes = compressed.array
        }
        let path = Scratch.directory("archive") + "/a.tar.zst"
        Scratch.write(path, bytes)
        guard let file = try? File.open(path) else { return }
        _ = try? ArchiveInspection.read(file, name: path)
    }

    // MARK: - text

    static func text(_ input: UnsafeRawBufferPointer) -> String { String(decoding: input, as: UTF8.self) }

    static func time(_ input: UnsafeRawBufferPointer) {
        let text = text(input)
        if let millis = try? TimeParsing.parseTime(text, now: 1_700_000_000_000), (0...253_402_300_799_999).contains(millis) {
            // Every time written out reads back as the same instant.
            precondition(
                try! TimeParsing.parseTime(TimeParsing.formatISO8601(millis), now: 0) == millis,
                "\(text) -> \(millis) -> \(TimeParsing.formatISO8601(millis))")
        }
        if let millis = try? TimeParsing.parseDuration(text) {
            _ = TimeParsing.formatDuration(millis)
        }
    }

    static func startPosition(_ input: UnsafeRawBufferPointer) {
        _ = try? StartPosition.parse(text(input), now: 1_700_000_000_000)
    }

    static func seekPlan(_ input: UnsafeRawBufferPointer) {
        let text = text(input)
        _ = try? OffsetPlan.parseCSV(text, group: "g", file: "plan.csv")
        _ = try? OffsetScope.parse(text.split(separator: "\n").map(String.init))
    }

    /// Input: a metadata document; when its first byte is even, the header's
    /// CRC is recomputed over the body so the fuzzer reaches the JSON and config.
    static func topicMetadata(_ input: UnsafeRawBufferPointer) {
        var bytes = Array(input)
        if let first = bytes.first, first & 1 == 0, let newline = bytes.firstIndex(of: 0x0A) {
            let crc = String(CRC32C.checksum(Array(bytes[(newline + 1)...])), radix: 16)
            bytes = Array("sluice-topic 1 crc32c=\(String(repeating: "0", count: 8 - crc.count))\(crc)".utf8) + bytes[newline...]
        }
        _ = try? TopicMetadata.decode(bytes, what: "fuzzed metadata")
    }

    static func json(_ input: UnsafeRawBufferPointer) {
        guard let value = try? JSONValue.parse(input) else { return }
        _ = value.serialized(pretty: true)
    }

    // MARK: - the wire protocol

    /// Input: a selector byte (which response type), a version byte (taken
    /// modulo the spoken range), then a response body as a broker would send
    /// it. A body that decodes is encoded again and must decode to the same
    /// value: the decoder and encoder agree on every field.
    static func kafkaResponse(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 2 else { return }
        let types = SpokenMessages.responses + SpokenMessages.embedded
        types[Int(input[0]) % types.count].decodeAgain(versionByte: input[1], body: Array(input[2...]))
    }
}

extension KafkaMessage {
    fileprivate static func decodeAgain(versionByte: UInt8, body: [UInt8]) {
        let version = versions.lowerBound + Int16(versionByte) % Int16(versions.count)
        guard let decoded = try? Self(decoding: body, version: version) else { return }
        let again = try? Self(decoding: decoded.encoded(version: version), version: version)
        precondition(again == decoded, "\(Self.self) v\(version) does not decode to what it encoded")
    }
}

/// Recomputes checksums so mutated batches get past them.
enum Checksums {
    /// A v2 batch's CRC-32C (over attributes to the end) at bytes 17–20.
    static func fixBatch(_ p: UnsafeMutableRawPointer, count: Int) {
        guard count >= RecordBatchHeader.size else { return }
        let crc = CRC32C.checksum(
            UnsafeRawPointer(p) + RecordBatchHeader.attributesOffset, count: count - RecordBatchHeader.attributesOffset)
        p.storeBigEndian(crc, at: RecordBatchHeader.crcOffset)
    }

    /// A legacy message's CRC-32 (over magic to the end) at bytes 12–15.
    static func fixLegacy(_ p: UnsafeMutableRawPointer, count: Int) {
        guard count >= 17 else { return }
        p.storeBigEndian(CRC32.checksum(UnsafeRawPointer(p) + 16, count: count - 16), at: 12)
    }

    /// The entries of a log with every complete entry's checksum recomputed.
    static func fixedLog(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes = Array(input)
        var at = 0
        bytes.withUnsafeMutableBytes { raw in
            while at + RecordBatchHeader.logOverhead + 5 <= raw.count {
                let size = Int(UnsafeRawBufferPointer(raw).loadBigEndian(at: at + 8, as: Int32.self)) + RecordBatchHeader.logOverhead
                guard size > RecordBatchHeader.logOverhead, at + size <= raw.count else { return }
                let entry = raw.baseAddress! + at
                if raw[at + RecordBatchHeader.magicOffset] == 2 { fixBatch(entry, count: size) } else { fixLegacy(entry, count: size) }
                at += size
            }
        }
        return bytes
    }
}

/// The three files of a fuzzed segment.
struct SegmentFiles {
    var index: [UInt8] = []
    var timeIndex: [UInt8] = []
    var log: [UInt8] = []

    init(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 4 else { log = Array(input); return }
        let indexLength = min(Int(input[0]) | Int(input[1]) << 8, input.count - 4)
        let timeLength = min(Int(input[2]) | Int(input[3]) << 8, input.count - 4 - indexLength)
        index = Array(input[4..<4 + indexLength])
        timeIndex = Array(input[(4 + indexLength)..<(4 + indexLength + timeLength)])
        log = Checksums.fixedLog(UnsafeRawBufferPointer(rebasing: input[(4 + indexLength + timeLength)...]))
    }

    /// The input that makes these files (for seeds).
    static func encode(log: [UInt8], index: [UInt8], timeIndex: [UInt8]) -> [UInt8] {
        let i = min(index.count, 0xFFFF), t = min(timeIndex.count, 0xFFFF)
        return [UInt8(i & 0xFF), UInt8(i >> 8), UInt8(t & 0xFF), UInt8(t >> 8)] + index.prefix(i) + timeIndex.prefix(t) + log
    }
}

/// A per-process scratch area for targets that go through files (on tmpfs
/// when there is one), removed at exit.
enum Scratch {
    static let root: String = {
        let base = (try? FileSystem.isDirectory("/dev/shm")) == true ? "/dev/shm" : "/tmp"
        let path = "\(base)/sluice-fuzz-\(getpid())"
        try? FileSystem.makeDirectories(path)
        atexit { try? FileSystem.removeTree(Scratch.root) }
        return path
    }()

    static func directory(_ name: String) -> String {
        let path = root + "/" + name
        try? FileSystem.makeDirectories(path)
        return path
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        try? FileSystem.removeFile(path)
        guard let file = try? File.create(path, access: .writeOnly) else { return }
        try? file.write(bytes, at: 0)
        try? file.close()
    }
}
