import KafkaClient
import KafkaFormat
import KafkaProtocol
import SluiceCore
import SluiceStore

/// Offsets and timestamps of partitions on a cluster: ListOffsets and small
/// Fetches, one request per leader.
extension ClusterStore {
    public func offsetRanges(_ partitions: [TopicPartition]) throws -> [TopicPartition: OffsetRange] {
        let starts = try listOffsets(partitions.map { ($0, ListOffsetsTime.earliest) })
        let ends = try listOffsets(partitions.map { ($0, ListOffsetsTime.latest) })
        var ranges: [TopicPartition: OffsetRange] = [:]
        for (key, start) in starts {
            if let end = ends[key], let start = start, let end = end { ranges[key] = OffsetRange(start: start, end: end) }
        }
        return ranges
    }

    public func unavailable(_ partition: TopicPartition) -> SluiceError {
        .failure(
            .partitionMissing, "partition \(partition) is not in \(location)'s metadata",
            remedy: "check it with 'sluice topic describe \(partition.topic)' and the same cluster options")
    }

    public func offsets(atOrAfter times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        try listOffsets(times.map { ($0.key, $0.value) }).compactMapValues { $0 }
    }

    /// ListOffsets' special timestamps.
    enum ListOffsetsTime {
        static let latest: Int64 = -1
        static let earliest: Int64 = -2
    }

    /// The offset ListOffsets answers for each partition and timestamp (nil:
    /// no record at or after that time). Read uncommitted: the log end is
    /// the high watermark, as consumers' lag counts it.
    func listOffsets(_ asks: [(TopicPartition, Int64)], readCommitted: Bool = false) throws -> [TopicPartition: Int64?] {
        let times = Dictionary(asks, uniquingKeysWith: { first, _ in first })
        return try askLeaders(Array(times.keys), "list offsets") { keys in
            var request = ListOffsetsRequest()
            request.replicaId = -1
            request.isolationLevel = readCommitted ? 1 : 0
            request.topics = Dictionary(grouping: keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, keys in
                var entry = ListOffsetsRequest.ListOffsetsTopic()
                entry.name = topic
                entry.partitions = keys.map { key in
                    var partition = ListOffsetsRequest.ListOffsetsPartition()
                    partition.partitionIndex = Int32(key.partition)
                    partition.timestamp = times[key]!
                    return partition
                }
                return entry
            }
            return request
        } answers: { response in
            response.topics.flatMap { topic in
                topic.partitions.map { partition in
                    (
                        TopicPartition(topic.name, Int(partition.partitionIndex)), KafkaErrorCode(partition.errorCode),
                        partition.offset < 0 ? nil : partition.offset
                    )
                }
            }
        }
    }

    public func timestamps(at offsets: [TopicPartition: Set<Int64>]) throws -> [TopicPartition: [Int64: Int64]] {
        var found: [TopicPartition: [Int64: Int64]] = [:]
        var asks = offsets.flatMap { key, offsets in offsets.map { (key, $0) } }
        // A Fetch names each partition once: offsets beyond the first per partition go in later rounds.
        while !asks.isEmpty {
            var round: [TopicPartition: Int64] = [:]
            var later: [(TopicPartition, Int64)] = []
            for (key, offset) in asks {
                if round[key] == nil { round[key] = offset } else { later.append((key, offset)) }
            }
            for (key, record) in try firstRecords(at: round) { found[key, default: [:]][round[key]!] = record.timestamp }
            asks = later.filter { key, offset in found[key]?[offset] == nil }
        }
        return found
    }

    /// For each partition, the offset and timestamp of the first record at or
    /// after the given offset (absent: none there yet), from one small Fetch per
    /// leader. The broker returns whole batches, starting with the one that
    /// holds the offset.
    func firstRecords(at offsets: [TopicPartition: Int64]) throws -> [TopicPartition: FetchedRecord] {
        let decoder = BatchDecoder()
        // One partition per request and one byte for it: a broker sends a whole batch past the
        // limits only for the first partition of a request, so each must be first of its own.
        return try fetch(offsets, waitMillis: 1, readCommitted: false, partitionBytes: 1, perRequest: 1).reduce(into: [:]) { found, entry in
            do {
                found[entry.key] = try FetchedBatches.firstRecord(in: entry.value.bytes, atOrAfter: offsets[entry.key]!, decoder: decoder)
            } catch {
                throw SluiceError.failure(
                    .protocolViolation, "the leader of partition \(entry.key) sent a damaged batch: \(error)",
                    remedy: "run the broker's DumpLogSegments on the partition; the log or the network may be corrupting data")
            }
        }
    }
}

extension ClusterStore: BatchSource {
    public func lastStableOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        try listOffsets(partitions.map { ($0, ListOffsetsTime.latest) }, readCommitted: true).compactMapValues { $0 }
    }

    public func fetch(_ positions: [TopicPartition: Int64], waitMillis: Int, readCommitted: Bool) throws -> [TopicPartition: FetchedData] {
        try fetch(positions, waitMillis: waitMillis, readCommitted: readCommitted, partitionBytes: Self.partitionFetchBytes)
    }

    /// One Fetch per leader for `positions` (or per `perRequest` of them),
    /// with `partitionBytes` per partition.
    func fetch(
        _ positions: [TopicPartition: Int64], waitMillis: Int, readCommitted: Bool, partitionBytes: Int32, perRequest: Int = .max
    ) throws -> [TopicPartition: FetchedData] {
        try askLeaders(Array(positions.keys), "fetch", perRequest: perRequest) { keys in
            var request = FetchRequest()
            request.maxWaitMs = Int32(max(1, waitMillis))  // Tansu answers a 0 ms wait with no records
            request.minBytes = 1
            request.maxBytes = Self.fetchBytes
            request.isolationLevel = readCommitted ? 1 : 0
            request.topics = Dictionary(grouping: keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, keys in
                var entry = FetchRequest.FetchTopic()
                entry.topic = topic
                entry.partitions = keys.map { key in
                    var partition = FetchRequest.FetchPartition()
                    partition.partition = Int32(key.partition)
                    partition.fetchOffset = positions[key]!
                    partition.partitionMaxBytes = partitionBytes
                    return partition
                }
                return entry
            }
            return request
        } answers: { response in
            response.responses.flatMap { topic in
                topic.partitions.map { partition in
                    let key = TopicPartition(topic.topic, Int(partition.partitionIndex))
                    var code = KafkaErrorCode(partition.errorCode)
                    let outOfRange = code == .offsetOutOfRange
                    if outOfRange { code = .none }
                    let data = FetchedData(
                        bytes: partition.records ?? [], end: readCommitted ? partition.lastStableOffset : partition.highWatermark,
                        logStart: partition.logStartOffset,
                        abortedTransactions: (partition.abortedTransactions ?? []).map { ($0.producerId, $0.firstOffset) },
                        outOfRange: outOfRange)
                    return (key, code, data)
                }
            }
        }
    }

    /// A fetch's byte budget in all (Kafka's fetch.max.bytes) and per partition
    /// (max.partition.fetch.bytes); a larger first batch still comes whole.
    static let fetchBytes: Int32 = 50 << 20
    static let partitionFetchBytes: Int32 = 1 << 20
}
