import KafkaFormat
import SluiceCore
import SluiceStore
import SluiceSystem

/// Reads a topic's partitions from a store that hands out raw batches (a
/// cluster, through Fetch) and writes the records, formatted as the local
/// consumer formats them, to an output. One fetch covers every partition
/// (one request per leader); without `follow` each partition is read up to
/// the log end the first fetch reports, as the local consumer reads to the
/// end it finds.
public final class FetchingConsumer {
    private struct Cursor {
        var position: Int64
        /// Where the partition ends for this run (nil: follow it).
        var end: Int64?
        var finished = false
        /// Read committed: producers whose aborted transaction is being skipped.
        var aborting = Set<Int64>()
    }

    private let store: TopicStore & BatchSource
    private let topic: String
    private let options: TopicConsumer.Options
    private let formatter: RecordFormatter
    private let output: BufferedOutput
    private let decoder = BatchDecoder()
    private var cursors: [TopicPartition: Cursor] = [:]
    private var summary = TopicConsumer.Summary()

    public init(
        store: TopicStore & BatchSource, topic: String, options: TopicConsumer.Options, formatter: RecordFormatter, output: BufferedOutput
    ) {
        self.store = store
        self.topic = topic
        self.options = options
        self.formatter = formatter
        self.output = output
    }

    /// Reads `partitions` from `start` until each is done, the limit is
    /// reached, the output closes or `shouldStop` says so.
    public func run(_ partitions: [Int], from start: StartPosition, shouldStop: () -> Bool) throws -> TopicConsumer.Summary {
        let keys = partitions.map { TopicPartition(topic, $0) }
        for (key, offset) in try startOffsets(keys, from: start) { cursors[key] = Cursor(position: offset) }
        var lastRecord = WallClock.monotonicNanos()
        var first = true
        while !shouldStop(), !output.isClosed, !limitReached, cursors.values.contains(where: { !$0.finished }) {
            let reading = cursors.filter { !$0.value.finished }.mapValues(\.position)
            let fetched = try store.fetch(
                reading, waitMillis: first ? 1 : options.pollIntervalMillis > 0 ? 500 : 1,
                readCommitted: options.isolation == .readCommitted)
            // A partition the answer lacks is gone from the cluster's metadata (its topic was deleted).
            if let gone = reading.keys.sorted().first(where: { fetched[$0] == nil }) { throw store.unavailable(gone) }
            var found = false
            for (key, data) in fetched.sorted(by: { $0.key < $1.key }) {
                if first && !options.follow && !data.outOfRange { cursors[key]?.end = data.end }
                found = try consume(data, of: key) || found
            }
            first = false
            try output.flushIfFull()
            if found {
                lastRecord = WallClock.monotonicNanos()
            } else if let idle = options.idleTimeoutMillis, WallClock.monotonicNanos() - lastRecord >= UInt64(idle) * 1_000_000 {
                break
            }
        }
        let before = output.bytesWritten
        _ = try output.flush()
        summary.bytes += output.bytesWritten - before
        return summary
    }

    private var limitReached: Bool { summary.records >= options.maxMessages ?? Int64.max }

    /// Where each partition starts. Read committed, positions counted from the
    /// end count from the last stable offset, as Kafka's consumer resets there:
    /// records of a transaction still open at the start are read once it commits.
    private func startOffsets(_ keys: [TopicPartition], from start: StartPosition) throws -> [TopicPartition: Int64] {
        var offsets = try start.resolve(in: store, keys)
        guard options.isolation == .readCommitted else { return offsets }
        let back: Int64
        switch start {
        case .latest: back = 0
        case .fromEnd(let n): back = n
        default: return offsets
        }
        let ranges = try store.offsetRanges(keys)
        for (key, stable) in try store.lastStableOffsets(keys) {
            offsets[key] = max(ranges[key]?.start ?? 0, min(offsets[key] ?? stable, stable - back))
        }
        return offsets
    }

    /// Formats one partition's fetched records; returns whether there were any.
    private func consume(_ data: FetchedData, of key: TopicPartition) throws -> Bool {
        guard var cursor = cursors[key] else { return false }
        defer { cursors[key] = cursor }
        if data.outOfRange {
            guard let reset = options.resetAfterDeletion else {
                throw SluiceError.failure(.offsetOutOfRange, "offset \(cursor.position) of partition \(key) is outside its log")
            }
            // A broker answers out of range with no offsets (-1): the range comes from ListOffsets.
            guard let range = try store.offsetRanges([key])[key] else { throw store.unavailable(key) }
            let offset = reset == .latest ? range.end : range.start
            Diagnostics.warn("offset \(cursor.position) of partition \(key) is gone from the log; continuing at offset \(offset)")
            cursor.position = offset
            if cursor.end.map({ offset >= $0 }) == true || (cursor.end == nil && !options.follow) { cursor.end = range.end }
            if let end = cursor.end, offset >= end { cursor.finished = true }
            return false
        }
        let before = summary.records
        do {
            try walk(data, key, &cursor)
        } catch let error as FormatError {
            throw SluiceError.failure(
                .damagedBatch, "partition \(key): the broker sent a damaged batch at offset \(cursor.position): \(error)",
                remedy: "the log or the network corrupts data; check the partition with the broker's DumpLogSegments")
        }
        if let end = cursor.end, cursor.position >= end { cursor.finished = true }
        return summary.records > before
    }

    private func walk(_ data: FetchedData, _ key: TopicPartition, _ cursor: inout Cursor) throws {
        var aborted = data.abortedTransactions.sorted { $0.firstOffset < $1.firstOffset }[...]
        try data.bytes.withUnsafeBytes { area in
            var entries = LogEntries(area)
            while !cursor.finished, !limitReached, let entry = try entries.next() {
                switch entry {
                case .legacy(let message):
                    for message in try decoder.messages(of: message) where message.offset >= cursor.position {
                        guard deliver(message.record, key, &cursor) else { return }
                    }
                case .batch(let header, let batch):
                    guard header.lastOffset >= cursor.position else { continue }
                    while let next = aborted.first, next.firstOffset <= header.lastOffset {
                        cursor.aborting.insert(next.producerId)
                        aborted.removeFirst()
                    }
                    if header.isControl {
                        cursor.aborting.remove(header.producerId)
                    } else if !(header.isTransactional && cursor.aborting.contains(header.producerId)) {
                        var records = try decoder.records(of: batch, header: header)
                        while let record = try records.next() {
                            guard record.offset >= cursor.position else { continue }
                            guard deliver(record, key, &cursor) else { return }
                        }
                    }
                    if !limitReached && !cursor.finished { cursor.position = max(cursor.position, header.lastOffset + 1) }
                }
            }
        }
    }

    /// Formats one record unless it lies past the run's bounds; false once the partition is done.
    private func deliver(_ record: Record, _ key: TopicPartition, _ cursor: inout Cursor) -> Bool {
        if record.offset >= cursor.end ?? Int64.max || record.offset >= options.untilOffset ?? Int64.max
            || record.timestamp >= options.untilTime ?? Int64.max
        {
            cursor.finished = true
            return false
        }
        formatter.append(record, topic: topic, partition: key.partition, to: output.buffer)
        summary.records += 1
        cursor.position = record.offset + 1
        return !limitReached
    }
}

extension SluiceError.Reason {
    /// A store sent a batch that fails its checks (CRC, sizes).
    public static let damagedBatch = Self("damaged-batch")
}
