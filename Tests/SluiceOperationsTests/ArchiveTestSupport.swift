import KafkaFormat
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem
import TestSupport

/// A record as read back, everything a round trip must preserve.
struct ArchivedRecord: Equatable, CustomStringConvertible {
    var partition: Int
    var offset: Int64
    var timestamp: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [[UInt8]]

    var description: String { "p\(partition)@\(offset) \(key.map { String(decoding: $0, as: UTF8.self) } ?? "nil")" }
}

/// A batch header as read back (producer fields and attributes must survive).
struct BatchFields: Equatable {
    var baseOffset: Int64
    var lastOffset: Int64
    var attributes: Int16
    var producerId: Int64
    var producerEpoch: Int16
    var baseSequence: Int32
}

enum ArchiveFixture {
    static let baseTime: Int64 = 1_700_000_000_000

    /// Appends `count` records to a partition in batches of `perBatch`:
    /// keys cycle through 13 values (every 7th record has none), values vary
    /// in length, each record has a header, timestamps advance 1 s a record.
    static func fill(
        _ partition: Partition, count: Int, from first: Int = 0, perBatch: Int = 40, codec: CompressionCodec = .none,
        producerId: Int64 = -1
    ) throws {
        let appender = try PartitionAppender(partition: partition)
        let builder = RecordBatchBuilder(codec: codec)
        let out = ByteBuffer()
        var i = first
        while i < first + count {
            for _ in 0..<min(perBatch, first + count - i) {
                let key = i % 7 == 0 ? nil : Array("key-\(i % 13)".utf8)
                let value =
                    Array("{\"n\":\(i),\"p\":\(partition.index),\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: i % 61)
                    + Array("\"}".utf8)
                let headers = ByteBuffer()
                HeaderEncoding.appendEntry(key: "trace", value: "t-\(i)", to: headers)
                value.withUnsafeBytes { v in
                    if let key {
                        key.withUnsafeBytes { k in
                            builder.append(
                                timestamp: baseTime + Int64(i) * 1000, key: k, value: v, headerCount: 1, encodedHeaders: headers.bytes)
                        }
                    } else {
                        builder.append(
                            timestamp: baseTime + Int64(i) * 1000, key: nil, value: v, headerCount: 1, encodedHeaders: headers.bytes)
                    }
                }
                i += 1
            }
            var template = RecordBatchHeader()
            template.producerId = producerId
            template.producerEpoch = producerId >= 0 ? 3 : -1
            template.baseSequence = producerId >= 0 ? Int32(i - 1) : -1
            try builder.finish(baseOffset: 0, into: out, template: template)
        }
        try appender.append(out)
        try appender.sync()
    }

    /// A data directory with topic `name` of `partitions` partitions, each filled.
    static func store(
        _ dir: TemporaryDirectory, name: String = "orders", partitions: Int = 3, records: Int = 600,
        config: [String] = ["segment.bytes=16384"], codec: CompressionCodec = .none, producerId: Int64 = -1
    ) throws -> DataDirectory {
        let data = try DataDirectory.open(dir.path + "/data")
        var topicConfig = TopicConfig()
        try topicConfig.apply(assignments: config)
        let topic = try data.createTopic(name, partitions: partitions, config: topicConfig)
        for p in 0..<partitions {
            try fill(try topic.partition(p), count: records + p * 17, codec: codec, producerId: producerId)
        }
        return data
    }

    static func records(_ topic: Topic, partitions: [Int]? = nil) throws -> [ArchivedRecord] {
        var out: [ArchivedRecord] = []
        let decoder = BatchDecoder()
        for p in partitions ?? topic.partitionIndices {
            let partition = try topic.partition(p)
            let reader = try PartitionReader(partition: partition, from: try partition.logStartOffset())
            while let entry = try reader.next() {
                guard case .batch(let batch, let from) = entry else { continue }
                var records = try reader.records(of: batch, with: decoder)
                while let r = try records.next() {
                    guard r.offset >= from else { continue }
                    out.append(
                        ArchivedRecord(
                            partition: p, offset: r.offset, timestamp: r.timestamp, key: r.key.map(Array.init),
                            value: r.value.map(Array.init), headers: r.headers.flatMap { [Array($0.key), $0.value.map(Array.init) ?? []] }))
                }
            }
        }
        return out
    }

    static func batches(_ partition: Partition) throws -> [BatchFields] {
        let reader = try PartitionReader(partition: partition, from: try partition.logStartOffset())
        var out: [BatchFields] = []
        while let entry = try reader.next() {
            guard case .batch(let b, _) = entry else { continue }
            out.append(
                BatchFields(
                    baseOffset: b.header.baseOffset, lastOffset: b.header.lastOffset, attributes: b.header.attributes,
                    producerId: b.header.producerId, producerEpoch: b.header.producerEpoch, baseSequence: b.header.baseSequence))
        }
        return out
    }

    /// Exports to `path` and returns the result.
    @discardableResult
    static func export(
        _ topic: Topic, to path: String, _ request: ExportRequest = ExportRequest(), groups: GroupOffsetStore? = nil,
        threads: Int = 2
    ) throws -> ExportResult {
        let plan = try ExportPlan.make(topic, request, groups: groups)
        var options = ArchiveExporter.Options()
        options.threads = threads
        options.tool = "sluice test"
        let out = try ArchiveOutput.file(path)
        let result = try ArchiveExporter(plan: plan, options: options).write(to: { try out.write($0) })
        try out.commit()
        return result
    }

    static func importArchive(
        _ path: String, into directory: DataDirectory, topic: String? = nil, mode: ArchiveImporter.Mode? = nil,
        dryRun: Bool = false, groups: GroupOffsetStore? = nil
    ) throws -> ImportResult {
        var options = ArchiveImporter.Options()
        options.topic = topic
        options.mode = mode
        options.dryRun = dryRun
        options.groups = groups
        return try ArchiveImporter(directory: directory, options: options).run(try File.open(path), name: path)
    }

    /// Every verify problem in a topic (strict: sluice's own directories).
    static func problems(_ topic: Topic) throws -> [String] {
        try topic.partitions().flatMap { try PartitionVerifier.check($0, strict: true).problems.map(\.description) }
    }

    /// Every file under `path` with its bytes (lock files and staging areas excluded).
    static func snapshot(_ path: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        func walk(_ p: String, _ relative: String) throws {
            for name in try FileSystem.list(p) {
                let full = p + "/" + name, rel = relative.isEmpty ? name : relative + "/" + name
                if rel == ".sluice/staging" || name.hasSuffix(".lock") { continue }
                if try FileSystem.isDirectory(full) { try walk(full, rel) } else { out[rel] = try FileSystem.readIfExists(full) ?? [] }
            }
        }
        try walk(path, "")
        return out
    }
}

/// Consumer-group offsets kept in memory: the store the exporter and
/// importer talk to, standing in for the consumer-group module.
final class InMemoryGroupStore: GroupOffsetStore {
    var offsets: [String: [String: [Int: Int64]]] = [:]

    func committedOffsets(topic: String) throws -> [String: [Int: Int64]] { offsets[topic] ?? [:] }

    func restore(topic: String, offsets restored: [String: [Int: Int64]]) throws {
        for (group, partitions) in restored { offsets[topic, default: [:]][group] = partitions }
    }
}
