import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Reads records from a set of partitions and writes them, formatted, to an
/// output. Without `follow` it reads each partition up to the end it finds and
/// stops; with `follow` it keeps polling for new records until `shouldStop`.
///
/// Output is buffered and written in large chunks; after each chunk reaches
/// the output, `onDelivered` learns the next offset of each partition it
/// moved, which is the hook consumer-group commits use (at-least-once: a
/// commit never covers a record that has not been written out).
public final class TopicConsumer {
    public struct Options: Sendable {
        public var maxMessages: Int64?
        public var follow = false
        public var pollIntervalMillis: UInt32 = 100
        /// When set, a partition yields to the next after this many records,
        /// and a turn over the partitions ends after `millisPerTurn` (a slow
        /// reader of the output makes each record take long; the next turn
        /// starts where this one stopped), so `maintenance` runs regularly
        /// however large the backlog.
        public var recordsPerTurn: Int64?
        public var millisPerTurn: UInt64 = 200
        /// When set, output is written out (and deliveries reported) at least
        /// every this many records, whatever the buffer holds.
        public var deliverEvery: Int64?
        /// Whether records of aborted transactions are delivered.
        public var isolation = Isolation.readUncommitted
        /// Where a partition whose position was deleted while being read
        /// (retention, delete-records) goes on (`StartPosition.afterDeletion`);
        /// nil: the consumer stops with the reader's error.
        public var resetAfterDeletion: StartPosition?
        /// Where each partition ends (`--until-offset`, exclusive), whatever `follow` says.
        public var untilOffset: Int64?
        /// Each partition ends at its first record stamped at or after this
        /// (`--until`, as `export --until`), whatever `follow` says.
        public var untilTime: Int64?
        /// Stop once no record has arrived for this long (`--idle-timeout`).
        public var idleTimeoutMillis: Int64?
        public init() {}

        /// Whether partitions end before their log end.
        public var isBounded: Bool { untilOffset != nil || untilTime != nil }
    }

    public struct Summary: Sendable {
        public var records: Int64 = 0
        public var bytes: Int64 = 0
    }

    final class Cursor {
        let partition: Partition
        private(set) var reader: PartitionReader
        var delivered: Int64
        var pending: Int64
        private let readCommitted: Bool
        private(set) var transactions: TransactionOutcomes?
        /// Where an open transaction stopped a `read_committed` reader (reported once).
        var blockedAt: Int64?
        /// Whether the partition reached its `until` bound: nothing more is read from it.
        var finished = false

        init(partition: Partition, from offset: Int64, isolation: Isolation) throws {
            self.partition = partition
            readCommitted = isolation == .readCommitted
            reader = try PartitionReader(partition: partition, from: offset)
            transactions = readCommitted ? TransactionOutcomes(partition: partition) : nil
            delivered = offset
            pending = offset
        }

        /// Reads from `offset` next: the batch held back by an open
        /// transaction again (what is known of transactions ahead stays
        /// valid), or wherever a reset after a deletion says (it does not).
        func reposition(to offset: Int64, keepingTransactions: Bool) throws {
            reader = try PartitionReader(partition: partition, from: offset)
            if !keepingTransactions && readCommitted { transactions = TransactionOutcomes(partition: partition) }
        }
    }

    public let topic: Topic
    private let options: Options
    private let formatter: RecordFormatter
    private let output: BufferedOutput
    private let decoder = BatchDecoder()
    private var cursors: [Cursor] = []
    private var summary = Summary()
    private var recordsAtLastDelivery: Int64 = 0
    /// Called with (partition, next offset) of every partition whose records
    /// up to that offset were just written out.
    public var onDelivered: (([(partition: Int, next: Int64)]) throws -> Void)?
    /// Asked, when every partition is at its end without `follow`, whether to
    /// wait for more instead of stopping (a group member whose group has not
    /// drained the topic yet may still be given partitions).
    public var waitsForMore: (() throws -> Bool)?
    /// Called after every turn over the partitions and while idle; it may
    /// assign and unassign partitions, and returns whether it did.
    public var maintenance: (() throws -> Bool)?

    public init(topic: Topic, options: Options, formatter: RecordFormatter, output: BufferedOutput) {
        self.topic = topic
        self.options = options
        self.formatter = formatter
        self.output = output
    }

    /// Starts reading `partition` at `offset`.
    public func assign(_ partition: Partition, from offset: Int64) throws {
        cursors.append(try Cursor(partition: partition, from: offset, isolation: options.isolation))
    }

    /// Stops reading a partition (after delivering what was read of it).
    public func unassign(_ partition: Int) throws {
        try deliver()
        cursors.removeAll { $0.partition.index == partition }
    }

    public var assigned: [Int] { cursors.map(\.partition.index) }

    /// Whether partitions end at `until` bounds rather than at their log end.
    public var isBounded: Bool { options.isBounded }

    /// Reads until every partition is at its end (or, with `follow`, until
    /// `shouldStop` returns true), the output closes, or `maxMessages` is reached.
    public func run(shouldStop: () -> Bool = { false }, betweenPolls: () throws -> Void = {}) throws -> Summary {
        do {
            var first = 0
            var lastRecordAt = WallClock.monotonicNanos(), recordsBefore = summary.records
            while !shouldStop() && !output.isClosed && !limitReached && !allFinished {
                var progressed = false
                let deadline = options.recordsPerTurn == nil ? UInt64.max : WallClock.monotonicNanos() + options.millisPerTurn * 1_000_000
                let turn = cursors.indices.map { cursors[($0 + first) % cursors.count] }
                for (i, cursor) in turn.enumerated() where !limitReached && !output.isClosed {
                    progressed = try drain(cursor, until: deadline, shouldStop: shouldStop) || progressed
                    if deadline != UInt64.max && WallClock.monotonicNanos() >= deadline {
                        // Cut short: the partitions not reached may hold records.
                        first = (first + i + 1) % turn.count
                        progressed = true
                        break
                    }
                }
                if summary.records != recordsBefore { lastRecordAt = WallClock.monotonicNanos(); recordsBefore = summary.records }
                if let idle = options.idleTimeoutMillis, WallClock.monotonicNanos() - lastRecordAt >= UInt64(idle) * 1_000_000 { break }
                if try maintenance?() == true { continue }
                if !options.follow && !progressed {
                    guard let waitsForMore else { break }
                    // What was read is written out (and so reported) first: the answer depends on it.
                    try deliver()
                    if try !waitsForMore() { break }
                }
                if !progressed {
                    try deliver()
                    try betweenPolls()
                    if shouldStop() { break }
                    usleep(options.pollIntervalMillis * 1000)
                }
            }
        } catch {
            // The records read before a failure (damage further on, say) still reach the output.
            try? deliver()
            throw error
        }
        try deliver()
        return summary
    }

    private var limitReached: Bool { options.maxMessages.map { summary.records >= $0 } ?? false }

    /// Whether every partition reached its `until` bound.
    private var allFinished: Bool { options.isBounded && !cursors.isEmpty && cursors.allSatisfy(\.finished) }

    /// Whether `record` lies past the `until` bounds (it and what follows are not delivered).
    @inline(__always)
    private func isPastBounds(offset: Int64, timestamp: Int64) -> Bool {
        offset >= options.untilOffset ?? Int64.max || timestamp >= options.untilTime ?? Int64.max
    }

    /// Formats the available records of one partition, until the turn ends; returns whether any was found.
    private func drain(_ cursor: Cursor, until deadline: UInt64, shouldStop: () -> Bool) throws -> Bool {
        var found = false
        let name = topic.name, index = cursor.partition.index
        let turnEnds = options.recordsPerTurn.map { summary.records + $0 } ?? Int64.max
        let bounded = options.isBounded
        while !cursor.finished, !limitReached, !output.isClosed, summary.records < turnEnds,
            deadline == UInt64.max || WallClock.monotonicNanos() < deadline, let entry = try next(cursor)
        {
            switch entry {
            case .batch(let batch, let from):
                switch try delivery(of: batch, from: from, in: cursor) {
                case .skip:
                    found = true
                    // A marker or an aborted batch at a bound ends the partition as a record would.
                    if bounded && isPastBounds(offset: max(from, batch.header.baseOffset), timestamp: batch.header.baseTimestamp) {
                        cursor.finished = true
                        continue
                    }
                    cursor.pending = batch.header.nextOffset
                    continue
                case .holdBack:
                    return found
                case .deliver:
                    found = true
                }
                var records = try cursor.reader.records(of: batch, with: decoder)
                while let record = try records.next() {
                    guard record.offset >= from else { continue }
                    if bounded && isPastBounds(offset: record.offset, timestamp: record.timestamp) {
                        cursor.finished = true
                        break
                    }
                    formatter.append(record, topic: name, partition: index, to: output.buffer)
                    summary.records += 1
                    cursor.pending = record.offset + 1
                    if limitReached { break }
                }
                if !limitReached && !cursor.finished { cursor.pending = batch.header.nextOffset }
            case .legacy(let message):
                found = true
                if bounded && isPastBounds(offset: message.offset, timestamp: message.timestamp ?? -1) {
                    cursor.finished = true
                    break
                }
                formatter.append(message.record, topic: name, partition: index, to: output.buffer)
                summary.records += 1
                cursor.pending = message.offset + 1
            }
            if output.buffer.count >= output.threshold
                || options.deliverEvery.map({ summary.records - recordsAtLastDelivery >= $0 }) == true
            {
                try deliver()
            }
            if shouldStop() { break }
        }
        return found
    }

    private enum Delivery { case deliver, skip, holdBack }

    /// Whether a batch's records are delivered: transaction markers never
    /// are (they are not records to consumers); with `read_committed`,
    /// aborted transactions are skipped and an open one holds the partition
    /// back at its first batch until its marker is written.
    private func delivery(of batch: ScannedBatch, from: Int64, in cursor: Cursor) throws -> Delivery {
        let header = batch.header
        if header.isControl { return .skip }
        guard header.isTransactional, let transactions = cursor.transactions else { return .deliver }
        switch try transactions.outcome(producerId: header.producerId, at: header.baseOffset) {
        case .committed:
            cursor.blockedAt = nil
            return .deliver
        case .aborted:
            return .skip
        case .open:
            if cursor.blockedAt != from {
                Diagnostics.warn(
                    """
                    partition \(cursor.partition.name): a transaction of producer \(header.producerId) \
                    starting at offset \(header.baseOffset) has no COMMIT or ABORT marker yet; \
                    read_committed delivers nothing from offset \(from) on until it has
                    """
                )
            }
            cursor.blockedAt = from
            try cursor.reposition(to: from, keepingTransactions: true)
            return .holdBack
        }
    }

    /// The cursor's next entry. A position deleted under the reader moves to
    /// where `resetAfterDeletion` says, with a warning naming what was lost.
    private func next(_ cursor: Cursor) throws -> PartitionReader.Entry? {
        do {
            return try cursor.reader.next()
        } catch let error as SluiceError where error.reason == .offsetOutOfRange {
            guard let reset = options.resetAfterDeletion else { throw error }
            let offset = try reset.afterDeletion(in: cursor.partition)
            Diagnostics.warn("\(error.message); continuing at offset \(offset)")
            try cursor.reposition(to: offset, keepingTransactions: false)
            cursor.pending = offset
            return try cursor.reader.next()
        }
    }

    /// Writes buffered output, then reports what each partition delivered.
    private func deliver() throws {
        recordsAtLastDelivery = summary.records
        let before = output.bytesWritten
        guard try output.flush() else { return }
        summary.bytes += output.bytesWritten - before
        var moved: [(partition: Int, next: Int64)] = []
        for cursor in cursors where cursor.pending != cursor.delivered {
            cursor.delivered = cursor.pending
            moved.append((cursor.partition.index, cursor.delivered))
        }
        if !moved.isEmpty { try onDelivered?(moved) }
    }
}
