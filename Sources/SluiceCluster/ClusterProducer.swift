import KafkaClient
import KafkaFormat
import KafkaProtocol
import SluiceCore
import SluiceStore

/// Produces to a topic of a cluster as Kafka's idempotent producer does:
/// records partitioned like the local producer, batched per partition, sent
/// with acks=all in Produce requests pipelined per leader (one batch per
/// partition per request, as brokers require, up to five in flight per
/// broker). A producer id from InitProducerId and per-partition sequence
/// numbers let the broker drop a batch that a retry after a lost connection
/// sends twice, so retries neither lose nor duplicate records.
public final class ClusterProducer: TopicWriter {
    public struct Options: Sendable {
        public var codec: CompressionCodec = .none
        /// Kafka's `batch.size`, by default librdkafka's: a broker's cost is per
        /// batch (Tansu produces 1M lines 3x faster with 1 MB batches than with 16 KiB).
        public static let defaultBatchBytes = 1_000_000
        public var batchBytes = defaultBatchBytes
        /// Closed batches are sent once this many bytes wait (and at `finish`).
        public var sendBytes = 4 << 20
        public init() {}
    }

    /// A closed batch on its way.
    private struct Batch {
        var partition: Int
        var bytes: [UInt8]
        var records: Int64
        /// The partition's batches in the order they were closed (sequence numbers wrap; this does not).
        var order: Int64
    }

    private struct InFlight {
        var leader: Int32
        var response: Result<PendingResponse<ProduceRequest>, Error>
        var batches: [Batch]
    }

    private final class Lane {
        let builder: RecordBatchBuilder
        var nextSequence: Int32 = 0
        var closedBatches: Int64 = 0
        /// When the partition's batches started failing (reset by an acknowledgement).
        var failingSince: UInt64?
        var firstOffset: Int64?
        var nextOffset: Int64?
        var records: Int64 = 0

        init(codec: CompressionCodec) { builder = RecordBatchBuilder(codec: codec) }
    }

    public let topic: String
    private let store: ClusterStore
    private let options: Options
    private let layout: TopicLayout
    private var lanes: [Lane?]
    private var stickyPartition: Int
    private var producerId: Int64 = -1
    private var producerEpoch: Int16 = -1
    private var ready: [Batch] = []
    private var readyBytes = 0
    private var inFlight: [InFlight] = []
    private let scratch = ByteBuffer(capacity: 1 << 16)
    private var summary = ProduceSummary()
    public private(set) var appendedRecords: Int64 = 0
    /// A record's bytes beyond its key, value and headers at most: length, attributes and
    /// varint deltas and lengths.
    private static let recordOverhead = 32
    /// In flight per broker at most: five keeps an idempotent producer's order (Kafka's limit).
    private static let maxInFlightPerBroker = 5

    public init(store: ClusterStore, topic: String, options: Options = Options()) throws {
        self.store = store
        self.topic = topic
        self.options = options
        layout = try store.layout(of: topic)
        lanes = Array(repeating: nil, count: layout.partitionCount)
        stickyPartition = Int.random(in: 0..<layout.partitionCount)
        try startIdempotence()
    }

    /// Asks for a producer id, where the broker offers InitProducerId; without
    /// one batches go without sequence numbers (at least once, as a
    /// non-idempotent Kafka producer).
    private func startIdempotence() throws {
        let connection = try store.client.anyConnection()
        guard connection.versions.version(for: InitProducerIdRequest.self) != nil else { return }
        var request = InitProducerIdRequest()
        request.transactionalId = nil
        request.transactionTimeoutMs = 60_000
        let response = try store.client.retrying { try store.client.anyConnection().call(request) }
        let code = KafkaErrorCode(response.errorCode)
        guard code == .none else { throw SluiceError.broker(code, "start an idempotent producer for topic '\(topic.printable)'") }
        producerId = response.producerId
        producerEpoch = response.producerEpoch
    }

    public func choosePartition(explicit: Int?, key: UnsafeRawBufferPointer?) throws -> Int {
        if let explicit {
            try layout.require(explicit)
            return explicit
        }
        if let key { return KafkaPartitioner.partition(forKey: key, partitions: layout.partitionCount) }
        return stickyPartition
    }

    public func send(
        partition: Int, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, encodedHeaders: UnsafeRawBufferPointer?
    ) throws {
        let lane = self.lane(partition)
        // A batch closes before the record that would take it past the batch size, as Kafka's
        // producer does: a batch over the broker's message.max.bytes would be refused whole.
        let size = (key?.count ?? 0) + (value?.count ?? 0) + (encodedHeaders?.count ?? 0) + Self.recordOverhead
        if !lane.builder.isEmpty && lane.builder.uncompressedSize + size > options.batchBytes {
            try close(lane, partition)
            if partition == stickyPartition && key == nil { stickyPartition = (stickyPartition + 1) % layout.partitionCount }
            if readyBytes >= options.sendBytes { try sendReady() }
        }
        lane.builder.append(timestamp: timestamp, key: key, value: value, headerCount: headerCount, encodedHeaders: encodedHeaders)
        summary.records += 1
        summary.bytes += Int64((key?.count ?? 0) + (value?.count ?? 0))
    }

    public func finish() throws -> ProduceSummary {
        for (partition, lane) in lanes.enumerated() where lane?.builder.isEmpty == false { try close(lane!, partition) }
        try sendReady()
        while !inFlight.isEmpty { try awaitOldest() }
        for (partition, lane) in lanes.enumerated() {
            guard let lane, lane.records > 0 else { continue }
            summary.partitions[partition] = (lane.records, lane.firstOffset ?? -1, lane.nextOffset ?? -1)
        }
        return summary
    }

    /// Acknowledged is durable on a cluster: there is nothing more to make so.
    public func syncAppended() -> Bool { true }

    private func lane(_ partition: Int) -> Lane {
        if let lane = lanes[partition] { return lane }
        let lane = Lane(codec: options.codec)
        lanes[partition] = lane
        return lane
    }

    private func close(_ lane: Lane, _ partition: Int) throws {
        let records = Int64(lane.builder.recordCount)
        let template = RecordBatchHeader(
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: producerId < 0 ? -1 : lane.nextSequence)
        scratch.clear()
        try lane.builder.finish(baseOffset: 0, into: scratch, template: template)
        ready.append(Batch(partition: partition, bytes: Array(scratch.bytes), records: records, order: lane.closedBatches))
        lane.closedBatches += 1
        readyBytes += scratch.count
        summary.batches += 1
        // Kafka's sequence numbers wrap from Int32.max to 0.
        if producerId >= 0 { lane.nextSequence = (lane.nextSequence &+ Int32(truncatingIfNeeded: records)) & Int32.max }
    }

    /// Sends every ready batch: per leader, requests holding at most one
    /// batch of each partition, in each partition's order, and at most
    /// `maxRequestBytes` (Kafka's max.request.size; a broker closes the
    /// connection on a request over its socket.request.max.bytes).
    private func sendReady() throws {
        guard !ready.isEmpty else { return }
        let leaders = try leaders(of: Set(ready.map(\.partition)))
        var queue = ready
        ready.removeAll()
        readyBytes = 0
        while !queue.isEmpty {
            var taken = Set<Int>()
            var request: [Int32: (batches: [Batch], bytes: Int)] = [:]
            queue.removeAll { batch in
                let leader = leaders[batch.partition]!
                let bytes = request[leader]?.bytes ?? 0
                guard bytes == 0 || bytes + batch.bytes.count <= Self.maxRequestBytes, taken.insert(batch.partition).inserted else {
                    taken.insert(batch.partition)  // later batches of this partition wait for a later request
                    return false
                }
                request[leader, default: ([], 0)].batches.append(batch)
                request[leader]!.bytes += batch.bytes.count
                return true
            }
            for (leader, pending) in request.sorted(by: { $0.key < $1.key }) { try submit(pending.batches, to: leader) }
        }
    }

    /// The most batch bytes one Produce request holds (Kafka's max.request.size is 1 MiB; brokers take up to 100 MiB).
    private static let maxRequestBytes = 16 << 20

    /// The leader of each partition, waiting out an election; a partition the
    /// cluster no longer lists means the topic went away under the producer.
    private func leaders(of partitions: Set<Int>) throws -> [Int: Int32] {
        let keys = partitions.sorted().map { TopicPartition(topic, $0) }
        var routes = try store.route(keys, refresh: false)
        if routes.byLeader.values.reduce(0, { $0 + $1.count }) < keys.count {
            routes = try store.client.retrying {
                let fresh = try store.route(keys, refresh: true)
                if let waiting = fresh.leaderless.first { throw SluiceError.broker(.leaderNotAvailable, "produce to partition \(waiting)") }
                return fresh
            }
        }
        let leaders = Dictionary(uniqueKeysWithValues: routes.byLeader.flatMap { leader, keys in keys.map { ($0.partition, leader) } })
        if let gone = keys.first(where: { leaders[$0.partition] == nil }) {
            throw SluiceError.failure(
                .unknownTopic, "partition \(gone) is gone from \(store.location): the topic was deleted while producing to it",
                remedy: "the records reported before this error were acknowledged; create the topic and produce the rest again")
        }
        return leaders
    }

    private func submit(_ batches: [Batch], to leader: Int32) throws {
        while inFlight.filter({ $0.leader == leader }).count >= Self.maxInFlightPerBroker { try awaitOldest() }
        var request = ProduceRequest()
        request.acks = -1
        request.timeoutMs = Int32(clamping: store.client.configuration.requestTimeoutMillis)
        var data = ProduceRequest.TopicProduceData()
        data.name = topic
        data.partitionData = batches.map { batch in
            var partition = ProduceRequest.PartitionProduceData()
            partition.index = Int32(batch.partition)
            partition.records = batch.bytes[...]
            return partition
        }
        request.topicData = [data]
        let response = Result { try store.client.connection(toBroker: leader).submit(request) }
        inFlight.append(InFlight(leader: leader, response: response, batches: batches))
    }

    /// Waits for the oldest request in flight. Batches that failed for a
    /// reason that may pass (a lost connection, a leader moving) are sent
    /// again, after fresh metadata, with their sequence numbers unchanged,
    /// once every later request has come back too, so each partition's
    /// batches go again in order; any other error stops the producer.
    private func awaitOldest() throws {
        var (failed, error) = try collectOldest()
        guard let error else { return }
        while !inFlight.isEmpty { failed += try collectOldest().failed }
        let now = WallClock.monotonicNanos()
        let timeout = UInt64(store.client.configuration.deliveryTimeoutMillis) * 1_000_000
        for batch in failed {
            let lane = lanes[batch.partition]!
            let since = lane.failingSince ?? now
            lane.failingSince = since
            guard now - since < timeout else { throw error }  // delivery.timeout.ms: this partition keeps failing
        }
        resends += 1
        store.backoff(resends)
        ready = failed.sorted { ($0.partition, $0.order) < ($1.partition, $1.order) } + ready
        readyBytes = ready.reduce(0) { $0 + $1.bytes.count }
        _ = try? store.route(failed.map { TopicPartition(topic, $0.partition) }, refresh: true)
        try sendReady()
    }

    /// Rounds of resends since the last acknowledgement, for the backoff.
    private var resends = 0

    /// The oldest request's answer: its batches to send again, and why.
    private func collectOldest() throws -> (failed: [Batch], error: SluiceError?) {
        let oldest = inFlight.removeFirst()
        let response: ProduceResponse
        do {
            response = try oldest.response.get().wait()
        } catch let error as SluiceError where error.isTransient {
            return (oldest.batches, error)
        }
        var failed: [Batch] = []
        var lastError: SluiceError?
        var fatal: SluiceError?
        let answers = Dictionary(
            response.responses.filter { $0.name == topic }.flatMap(\.partitionResponses).map { (Int($0.index), $0) },
            uniquingKeysWith: { first, _ in first })
        for batch in oldest.batches {
            let subject = "produce to partition \(topic)-\(batch.partition)"
            guard let answer = answers[batch.partition] else {
                throw SluiceError.failure(
                    .protocolViolation, "the broker's Produce answer does not mention partition \(topic)-\(batch.partition)")
            }
            switch KafkaErrorCode(answer.errorCode) {
            case .none: acknowledge(batch, at: answer.baseOffset)
            case .duplicateSequenceNumber: acknowledge(batch, at: -1)  // written before: a retry's copy was dropped
            case let code where code.isRetriable || code == .outOfOrderSequenceNumber:
                failed.append(batch)
                lastError = .broker(code, subject, message: answer.errorMessage)
            case let code:
                fatal = fatal ?? .broker(code, subject, message: answer.errorMessage)
            }
        }
        if let fatal {
            // What else is in flight may have been written: count it, so the error says how much was.
            while !inFlight.isEmpty { _ = try? collectOldest() }
            throw fatal
        }
        return (failed, lastError)
    }

    private func acknowledge(_ batch: Batch, at baseOffset: Int64) {
        resends = 0
        let lane = lanes[batch.partition]!
        lane.failingSince = nil
        lane.records += batch.records
        appendedRecords += batch.records
        guard baseOffset >= 0 else { return }
        lane.firstOffset = min(lane.firstOffset ?? baseOffset, baseOffset)
        lane.nextOffset = max(lane.nextOffset ?? 0, baseOffset + batch.records)
    }
}
