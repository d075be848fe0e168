import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport

/// A record copied out of the log.
struct StoredRecord: Equatable {
    var offset: Int64
    var timestamp: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [[UInt8]]
}

/// Reads every record of a partition from `offset` to its readable end.
func readAll(_ partition: Partition, from offset: Int64? = nil) throws -> [StoredRecord] {
    let reader = try PartitionReader(partition: partition, from: offset ?? partition.logStartOffset())
    let decoder = BatchDecoder()
    var out: [StoredRecord] = []
    while let entry = try reader.next() {
        switch entry {
        case .batch(let batch, let from):
            var records = try reader.records(of: batch, with: decoder)
            while let r = try records.next() {
                guard r.offset >= from else { continue }
                out.append(
                    StoredRecord(
                        offset: r.offset, timestamp: r.timestamp, key: r.key.map(Array.init), value: r.value.map(Array.init),
                        headers: r.headers.flatMap { [Array($0.key), $0.value.map(Array.init) ?? []] }))
            }
        case .legacy(let m):
            out.append(
                StoredRecord(
                    offset: m.offset, timestamp: m.timestamp ?? -1, key: m.key.map(Array.init), value: m.value.map(Array.init), headers: [])
            )
        }
    }
    return out
}

/// Appends `count` records as batches of `perBatch` through an appender.
@discardableResult
func appendRecords(
    _ appender: PartitionAppender, count: Int, perBatch: Int = 50, startIndex: Int = 0,
    codec: CompressionCodec = .none, timestamp: (Int) -> Int64 = { 1_700_000_000_000 + Int64($0) }
) throws -> [StoredRecord] {
    let builder = RecordBatchBuilder(codec: codec)
    let out = ByteBuffer()
    var expected: [StoredRecord] = []
    var i = startIndex
    while i < startIndex + count {
        for _ in 0..<min(perBatch, startIndex + count - i) {
            let key = Array("key-\(i % 13)".utf8)
            let value = Array("value-\(i)-".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: i % 50)
            let headers = ByteBuffer()
            HeaderEncoding.appendEntry(key: "n", value: String(i), to: headers)
            key.withUnsafeBytes { k in
                value.withUnsafeBytes { v in
                    builder.append(timestamp: timestamp(i), key: k, value: v, headerCount: 1, encodedHeaders: headers.bytes)
                }
            }
            expected.append(
                StoredRecord(
                    offset: -1, timestamp: timestamp(i), key: key, value: value, headers: [Array("n".utf8), Array(String(i).utf8)]))
            i += 1
        }
        try builder.finish(baseOffset: 0, into: out)
    }
    let result = try appender.append(out)
    for k in expected.indices { expected[k].offset = result.firstOffset + Int64(k) }
    return expected
}

/// A fresh sluice data directory with one topic.
func makeTopic(_ dir: TemporaryDirectory, partitions: Int = 1, config: [String] = []) throws -> Topic {
    let data = try DataDirectory.open(dir.path + "/data")
    var topicConfig = TopicConfig()
    try topicConfig.apply(assignments: config)
    return try data.createTopic("t", partitions: partitions, config: topicConfig)
}

/// Every file under a directory with its bytes, to prove a command changed nothing.
func snapshot(_ path: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    func walk(_ p: String) throws {
        for name in try FileSystem.list(p) {
            let full = p + "/" + name
            if try FileSystem.isDirectory(full) { try walk(full) } else { out[full] = try FileSystem.readIfExists(full) ?? [] }
        }
    }
    try walk(path)
    return out
}
