import Foundation
import KafkaFormat
import SluiceCore
import TestSupport

/// Kafka log directories for the broker tests: real broker partitions from
/// the shared fixtures, and `__consumer_offsets` partitions whose records the
/// tests encode themselves from the documented schemas (docs/FORMAT.md §3).
enum BrokerDirectory {
    /// Makes `path` a broker's log directory as a stopped KRaft broker leaves
    /// it: meta.properties (v1), the checkpoint files, the clean-shutdown
    /// marker, and `logStarts` in log-start-offset-checkpoint.
    static func make(_ path: String, logStarts: [(String, Int, Int64)] = []) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try write(
            path + "/meta.properties",
            """
            #\n#Sat Nov 18 20:54:20 UTC 2023\nnode.id=1\n\
            directory.id=Q0PfTa6UQ2mQ4b1XGJ0vWw\nversion=1\ncluster.id=4L6g3nShT-eMCtK--X86sw\n
            """
        )
        try write(path + "/log-start-offset-checkpoint", checkpoint(logStarts))
        try write(path + "/recovery-point-offset-checkpoint", checkpoint([]))
        try write(path + "/replication-offset-checkpoint", checkpoint([]))
        try write(path + "/cleaner-offset-checkpoint", "")
        try write(path + "/.kafka_cleanshutdown", #"{"version":0,"brokerEpoch":7}"#)
    }

    /// The real broker partitions: `test_topic_a-0..2` and `timeindex_test-0`.
    static func withFixtures(_ path: String, logStarts: [(String, Int, Int64)] = []) throws {
        try make(path, logStarts: logStarts)
        for p in 0..<3 {
            try FileManager.default.copyItem(
                atPath: Fixtures.path("pinterest-test_topic_a/test_topic_a-\(p)"), toPath: "\(path)/test_topic_a-\(p)")
        }
        try FileManager.default.copyItem(atPath: Fixtures.path("pinterest-timeindex_test"), toPath: "\(path)/timeindex_test-0")
    }

    static func checkpoint(_ entries: [(String, Int, Int64)]) -> String {
        "0\n\(entries.count)\n" + entries.map { "\($0.0) \($0.1) \($0.2)\n" }.joined()
    }

    static func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a partition directory holding `batches` (back to back, offsets
    /// assigned from 0) as one segment with empty (sparse) indexes, as a broker
    /// leaves a small partition.
    static func writePartition(_ directory: String, _ batches: [OffsetsBatch]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = ByteBuffer()
        var next: Int64 = 0
        for batch in batches {
            let builder = RecordBatchBuilder()
            for (key, value) in batch.records {
                key.withUnsafeBytes { k in
                    if let value {
                        value.withUnsafeBytes { builder.append(timestamp: batch.timestamp, key: k, value: $0) }
                    } else {
                        builder.append(timestamp: batch.timestamp, key: k, value: nil)
                    }
                }
            }
            let header = try builder.finish(
                baseOffset: next, into: log,
                template: RecordBatchHeader(
                    attributes: batch.attributes, producerId: batch.producerId, producerEpoch: batch.producerId >= 0 ? 0 : -1,
                    baseSequence: 0))
            next = header.nextOffset
        }
        let base = directory + "/00000000000000000000"
        try Data(log.array).write(to: URL(fileURLWithPath: base + ".log"))
        try Data().write(to: URL(fileURLWithPath: base + ".index"))
        try Data().write(to: URL(fileURLWithPath: base + ".timeindex"))
        try write(directory + "/leader-epoch-checkpoint", "0\n1\n0 0\n")
        try write(directory + "/partition.metadata", "version: 0\ntopic_id: p59PN4qkR8y176nhuDDPPA")
    }

    /// Every file under a directory with its bytes (directories too, as names).
    static func snapshot(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: path) {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path + "/" + sub, isDirectory: &isDirectory)
            out[sub] = isDirectory.boolValue ? Data("<dir>".utf8) : try Data(contentsOf: URL(fileURLWithPath: path + "/" + sub))
        }
        return out
    }
}

/// One record batch of a `__consumer_offsets` partition.
struct OffsetsBatch {
    var records: [([UInt8], [UInt8]?)]
    var attributes: Int16 = 0
    var producerId: Int64 = -1
    var timestamp: Int64 = 1_700_000_000_000

    static func transactional(_ records: [([UInt8], [UInt8]?)], producer: Int64) -> OffsetsBatch {
        OffsetsBatch(records: records, attributes: 0x10, producerId: producer)
    }

    /// A transaction marker (control batch): key version 0 + type, value version 0 + coordinator epoch.
    static func marker(commit: Bool, producer: Int64) -> OffsetsBatch {
        OffsetsBatch(records: [([0, 0, 0, commit ? 1 : 0], [0, 0, 0, 0, 0, 3])], attributes: 0x30, producerId: producer)
    }
}

/// `__consumer_offsets` keys and values, encoded here field by field from
/// docs/FORMAT.md §3 (not with sluice's own encoder), so decoding is
/// checked against the schemas rather than against itself.
struct OffsetsRecord {
    private(set) var bytes: [UInt8] = []

    mutating func int16(_ v: Int16) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func int32(_ v: Int32) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func int64(_ v: Int64) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func string(_ s: String?) {
        guard let s else { int16(-1); return }
        int16(Int16(s.utf8.count))
        bytes += Array(s.utf8)
    }
    mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func compactString(_ s: String) {
        uvarint(UInt64(s.utf8.count + 1))
        bytes += Array(s.utf8)
    }

    /// OffsetCommitKey v0/v1: group, topic, partition.
    static func key(_ version: Int16, _ group: String, _ topic: String, _ partition: Int32) -> [UInt8] {
        var r = OffsetsRecord()
        r.int16(version); r.string(group); r.string(topic); r.int32(partition)
        return r.bytes
    }

    /// OffsetCommitValue at `version` 0–4 (v4: compact metadata and one tagged field).
    static func value(_ version: Int16, offset: Int64, metadata: String = "meta", commitTimestamp: Int64 = 1_700_000_100_000) -> [UInt8] {
        var r = OffsetsRecord()
        r.int16(version)
        r.int64(offset)
        if version >= 3 { r.int32(5) }
        if version >= 4 { r.compactString(metadata) } else { r.string(metadata) }
        r.int64(commitTimestamp)
        if version == 1 { r.int64(commitTimestamp + 86_400_000) }
        if version >= 4 {
            r.uvarint(1)
            r.uvarint(7); r.uvarint(2); r.bytes += [0xAB, 0xCD]
        }
        return r.bytes
    }

    /// GroupMetadataKey v2 and a GroupMetadataValue v3 with one member.
    static func groupMetadata(_ group: String) -> ([UInt8], [UInt8]) {
        var key = OffsetsRecord()
        key.int16(2); key.string(group)
        var value = OffsetsRecord()
        value.int16(3); value.string("consumer"); value.int32(4); value.string("range"); value.string("m-1")
        value.int64(1_700_000_000_000)
        value.int32(1)
        value.string("m-1"); value.string(nil); value.string("client-1"); value.string("/10.0.0.1")
        value.int32(300_000); value.int32(45_000)
        value.int32(3); value.bytes += [1, 2, 3]
        value.int32(2); value.bytes += [4, 5]
        return (key.bytes, value.bytes)
    }
}
