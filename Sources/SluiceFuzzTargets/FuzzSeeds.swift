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

/// Seed corpora: real Kafka bytes from the shared fixtures, and files sluice
/// itself writes (offsets logs, snapshots, archives, metadata).
extension FuzzTargets {
    /// The seed inputs of every target, by target name.
    public static func seeds(fixtures: String) throws -> [String: [[UInt8]]] {
        var seeds: [String: [[UInt8]]] = [:]
        let timeindex = fixtures + "/pinterest-timeindex_test/00000000000000000000"
        let log = try read(timeindex + ".log")
        let entries = entryBoundaries(log, from: 0)
        // Batches: the librdkafka vectors (every codec), a broker's batches, legacy messages from kafka-go's fetches.
        var batches = try FileSystem.list(fixtures + "/rskafka-batches").sorted().map { try read(fixtures + "/rskafka-batches/" + $0) }
        batches += zip(entries.prefix(4), entries.dropFirst().prefix(4)).map { Array(log[$0..<$1]) }
        for name in try FileSystem.list(fixtures + "/kafka-go-fetch").sorted() {
            let bytes = hex(try read(fixtures + "/kafka-go-fetch/" + name))
            guard let start = (0..<min(200, bytes.count)).first(where: { entryBoundaries(bytes, from: $0).count > 1 }) else { continue }
            let cuts = entryBoundaries(bytes, from: start)
            batches += zip(cuts, cuts.dropFirst()).map { Array(bytes[$0..<$1]) }
        }
        seeds["batch"] = batches

        // Segments: the start of a broker's segment with its indexes cut to match.
        let cut = entries.last { $0 <= 6000 } ?? 0
        let index = try read(timeindex + ".index"), times = try read(timeindex + ".timeindex")
        let indexEntries = index.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count - 7, by: 8).filter { Int(raw.loadBigEndian(at: $0 + 4, as: Int32.self)) < cut }.count
        }
        seeds["segment"] = [
            SegmentFiles.encode(
                log: Array(log[..<cut]), index: Array(index.prefix(indexEntries * 8)), timeIndex: Array(times.prefix(indexEntries * 12))),
            SegmentFiles.encode(log: Array(log[..<cut]), index: [], timeIndex: []),
        ]
        seeds["index"] = [Array(index.prefix(256)), Array(times.prefix(384))]

        seeds["offsets-log"] = [try offsetsLogSeed()]
        seeds["offsets-snapshot"] = [snapshotSeed]
        seeds["archive"] = try archiveSeeds()
        seeds["time"] = [
            "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.250+02:00", "2024-05-01", "2024-05-01T12:00", "1714564800",
            "1714564800123", "now", "90s", "15m", "2h", "3d", "1w", "1h30m", "500ms", "PT2H", "P1DT6H", "PT0.5S",
        ].map { Array($0.utf8) }
        seeds["start-position"] = ["earliest", "latest", "beginning", "-10", "42", "@2024-05-01T12:00:00Z", "@1714564800"].map {
            Array($0.utf8)
        }
        seeds["seek-plan"] = ["orders,0,5\norders,1,7\n", "g,orders,0,5\r\n\n", "orders:0,2,5\nother"].map { Array($0.utf8) }
        var config = TopicConfig()
        try config.set("segment.bytes", "65536")
        try config.set("retention.ms", "3600000")
        seeds["topic-metadata"] = [
            TopicMetadata(name: "orders", id: "AAAAAAAAAAAAAAAAAAAAAA", partitions: 3, config: config, createdAt: 1_700_000_000_000)
                .encode()
        ]
        seeds["json"] = [
            #"{"version":1,"a":[1,-2.5e3,"x\u00e9\n",null,true,{"b":{}}]}"#,
            #"{"partition":1,"key":"k","value":"v","headers":[{"key":"h","value":null}]}"#,
        ]
        .map { Array($0.utf8) }
        seeds["protocol"] = protocolSeeds()
        return seeds
    }

    /// Every response type at every spoken version, as an empty response, in
    /// the `protocol` target's input layout (type byte, version byte, body).
    static func protocolSeeds() -> [[UInt8]] {
        let types = SpokenMessages.responses + SpokenMessages.embedded
        return types.enumerated().flatMap { index, type in
            (0..<type.versions.count).map { step in
                [UInt8(index), UInt8(step)] + type.init().encoded(version: type.versions.lowerBound + Int16(step))
            }
        }
    }

    /// Writes the seeds into `directory/<target>/seed-N`; returns how many.
    @discardableResult
    public static func writeSeeds(fixtures: String, to directory: String) throws -> Int {
        var count = 0
        for (target, inputs) in try seeds(fixtures: fixtures) {
            try FileSystem.makeDirectories(directory + "/" + target)
            for (n, input) in inputs.enumerated() {
                let file = try File.openOrCreate("\(directory)/\(target)/seed-\(n)", access: .writeOnly, truncate: true)
                try file.write(input, at: 0)
                try file.close()
                count += 1
            }
        }
        return count
    }

    static func read(_ path: String) throws -> [UInt8] {
        try FileSystem.readIfExists(path) ?? []
    }

    /// Where complete, checksum-valid entries start (and the last one ends), from `start`.
    static func entryBoundaries(_ bytes: [UInt8], from start: Int) -> [Int] {
        var cuts = [start]
        var at = start
        bytes.withUnsafeBytes { raw in
            while case .batch(let size) = LogEntryFrame.inspect(raw, at: at),
                (try? RecordBatchHeader(raw.baseAddress! + at).validate(UnsafeRawBufferPointer(rebasing: raw[at..<at + size]))) != nil
            {
                at += size
                cuts.append(at)
            }
            while case .legacy(let size, _) = LogEntryFrame.inspect(raw, at: at),
                (try? LegacyMessage.parse(UnsafeRawBufferPointer(rebasing: raw[at..<at + size]))) != nil
            {
                at += size
                cuts.append(at)
            }
        }
        return cuts
    }

    /// Decodes kafka-go's hex fixtures (white space ignored).
    static func hex(_ text: [UInt8]) -> [UInt8] {
        let digits = text.compactMap { c -> UInt8? in
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// An offsets log as sluice writes it: commits, a seek and a deletion.
    static func offsetsLogSeed() throws -> [UInt8] {
        let root = Scratch.directory("seed-offsets") + "/data"
        try? FileSystem.removeTree(root)
        let directory = try DataDirectory.open(root)
        try directory.createTopic("t", partitions: 2)
        let store = OffsetsStore(directory: directory)
        let group = groupInPartitionZero
        for offset in [Int64(1), 4, 9] {
            try store.commit(
                group: group, changes: [OffsetChange(TopicPartition("t", 0), offset: offset, logEndOffset: 10)],
                annotations: CommitAnnotations(operation: .commit, member: "m-1"))
        }
        try store.commit(
            group: group, changes: [OffsetChange(TopicPartition("t", 1), offset: 2, previousOffset: nil)],
            annotations: CommitAnnotations(operation: .seek, detail: "--to-offset 2"))
        try store.commit(
            group: group, changes: [OffsetChange(TopicPartition("t", 1), offset: nil)], annotations: CommitAnnotations(operation: .delete))
        return try read(root + "/__consumer_offsets-0/00000000000000000000.log")
    }

    /// An archive of a small topic (none and zstd batches, two partitions), and the tar it holds.
    static func archiveSeeds() throws -> [[UInt8]] {
        let root = Scratch.directory("seed-archive") + "/data"
        try? FileSystem.removeTree(root)
        let directory = try DataDirectory.open(root)
        let topic = try directory.createTopic("orders", partitions: 2)
        for p in 0..<2 {
            let appender = try PartitionAppender(partition: try topic.partition(p))
            for codec in [CompressionCodec.none, .zstd] {
                let builder = RecordBatchBuilder(codec: codec)
                for i in 0..<5 {
                    let key = Array("k\(i)".utf8), value = Array("value \(p) \(i) \(codec.name)".utf8)
                    key.withUnsafeBytes { k in
                        value.withUnsafeBytes { v in
                            builder.append(
                                timestamp: 1_700_000_000_000 + Int64(i), key: k, value: v, headerCount: 0,
                                encodedHeaders: UnsafeRawBufferPointer(start: nil, count: 0))
                        }
                    }
                }
                let batch = ByteBuffer(capacity: 1024)
                _ = try builder.finish(baseOffset: 0, into: batch)
                try appender.append(batch)
            }
            try appender.sync()
        }
        var archive: [UInt8] = []
        _ = try ArchiveExporter(plan: try ExportPlan.make(topic, ExportRequest()), options: ArchiveExporter.Options()).write(to: {
            archive += $0
        })
        var tar: [UInt8] = []
        let decoder = ZstdStreamDecoder()
        try archive.withUnsafeBytes { try decoder.feed($0) { tar += $0 } }
        try decoder.finish()
        return [archive, tar]
    }
}
