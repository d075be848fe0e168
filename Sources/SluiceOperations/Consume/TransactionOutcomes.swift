import KafkaFormat
import SluiceCore
import SluiceStorage

/// Which records a consumer may deliver (`consume --isolation`), as Kafka's
/// `isolation.level`.
public enum Isolation: String, Sendable, CaseIterable {
    /// Every record of data batches, aborted transactions included (Kafka's default).
    case readUncommitted = "read_uncommitted"
    /// Only records of committed transactions (and non-transactional ones);
    /// reading stops before a transaction that is still open, as Kafka's
    /// last stable offset does.
    case readCommitted = "read_committed"
}

/// Decides, for a consumer reading one partition with `read_committed`,
/// whether each transactional batch belongs to a committed, an aborted or a
/// still-open transaction. A broker answers this from its `.txnindex` files;
/// those are not archived, and sluice writes none, so the markers themselves
/// decide: a transaction of producer P ends at the first control batch of P
/// after its data, COMMIT or ABORT.
///
/// The markers are found by a second reader running ahead of the consumer,
/// only as far as the oldest undecided transaction needs and never over the
/// same bytes twice, so the extra reading is at most one more pass over the
/// stretches of the log where transactions are open; a log without
/// transactional batches costs nothing.
final class TransactionOutcomes {
    enum Outcome: Equatable { case committed, aborted, open }

    private struct Marker {
        var offset: Int64
        var producerId: Int64
        var commits: Bool
    }

    private let partition: Partition
    private var lookahead: PartitionReader?
    private var markers: [Marker] = []
    /// Markers before this index lie behind the consumer.
    private var head = 0
    private let decoder = BatchDecoder()

    init(partition: Partition) {
        self.partition = partition
    }

    /// The outcome of the transaction that a batch of `producerId` at
    /// `offset` belongs to. Calls come with offsets that never decrease.
    func outcome(producerId: Int64, at offset: Int64) throws -> Outcome {
        while head < markers.count && markers[head].offset < offset { head += 1 }
        if head >= 1024 {
            markers.removeFirst(head)
            head = 0
        }
        var searched = head
        while true {
            if let marker = markers[searched...].first(where: { $0.producerId == producerId }) {
                return marker.commits ? .committed : .aborted
            }
            searched = markers.count
            guard try readNextMarker(from: offset) else { return .open }
        }
    }

    /// Reads ahead to the next transaction marker; false at the readable end
    /// (a later call reads on from there, seeing what was appended since).
    private func readNextMarker(from offset: Int64) throws -> Bool {
        let reader = try lookahead ?? PartitionReader(partition: partition, from: offset, chunkSize: 64 << 10)
        lookahead = reader
        while let entry = try reader.next() {
            guard case .batch(let batch, _) = entry, batch.header.isControl else { continue }
            var records = try reader.records(of: batch, with: decoder)
            guard let record = try records.next(), let key = record.key, let type = ControlRecordType.decode(key) else { continue }
            markers.append(Marker(offset: batch.header.baseOffset, producerId: batch.header.producerId, commits: type == .commit))
            return true
        }
        return false
    }
}
