import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore

/// The base offset and CRC of a batch: enough to recognise it again.
struct BatchMark: Equatable, Sendable {
    var baseOffset: Int64
    var crc: UInt32
}

/// Offset commits of transactional producers (TxnOffsetCommit) that wait for
/// their transaction's COMMIT marker, by producer id (docs/FORMAT.md §3.3).
typealias PendingTransactions = [Int64: [CommitEvent]]

/// Reads an offsets partition as commit events, from an offset to its
/// readable end. Keys other than offset commits (group metadata, KIP-848
/// records) are skipped, transactional commits are applied only when their
/// COMMIT marker follows, and records that do not decode are reported once
/// and skipped (a broker's log may hold record types sluice does not know).
struct OffsetsLogScan {
    let partition: Partition
    /// Only this group's events, when set (the others' values are not decoded).
    var group: String?

    struct Result {
        var nextOffset: Int64
        var lastBatch: BatchMark?
    }

    func run(from offset: Int64, pending: inout PendingTransactions, _ body: (CommitEvent) throws -> Void) throws -> Result {
        let reader = try PartitionReader(partition: partition, from: offset, chunkSize: 64 << 10)
        let decoder = BatchDecoder()
        var lastBatch: BatchMark?
        var reported = false
        func undecodable(_ error: FormatError, at offset: Int64) {
            guard !reported else { return }
            reported = true
            Diagnostics.warn(
                "skipping records of \(partition.name) that are not offset commits sluice can read (first at offset \(offset): \(error))")
        }
        while let entry = try reader.next() {
            switch entry {
            case .batch(let batch, let from):
                lastBatch = BatchMark(baseOffset: batch.header.baseOffset, crc: batch.header.crc)
                var records = try reader.records(of: batch, with: decoder)
                if batch.header.isControl {
                    while let record = try records.next() {
                        guard record.offset >= from, let key = record.key else { continue }
                        switch ControlRecordType.decode(key) {
                        case .commit?: for event in pending.removeValue(forKey: batch.header.producerId) ?? [] { try body(event) }
                        case .abort?: pending[batch.header.producerId] = nil
                        case nil: break
                        }
                    }
                    continue
                }
                while let record = try records.next() {
                    guard record.offset >= from else { continue }
                    do {
                        guard let event = try decode(record) else { continue }
                        if batch.header.isTransactional {
                            pending[batch.header.producerId, default: []].append(event)
                        } else {
                            try body(event)
                        }
                    } catch let error as FormatError {
                        undecodable(error, at: record.offset)
                    }
                }
            case .legacy(let message):
                do {
                    if let event = try decode(message.record) { try body(event) }
                } catch let error as FormatError {
                    undecodable(error, at: message.offset)
                }
            }
        }
        return Result(nextOffset: reader.nextOffset, lastBatch: lastBatch)
    }

    /// The commit event a record holds, nil when it holds something else.
    private func decode(_ record: Record) throws(FormatError) -> CommitEvent? {
        guard let keyBytes = record.key else { throw .invalid("a record without a key") }
        guard case .offsetCommit(let key) = try ConsumerOffsetsKey.decode(keyBytes) else { return nil }
        if let group, key.group != group { return nil }
        let value = try record.value.map { bytes throws(FormatError) in try OffsetCommitValue.decode(bytes) }
        return CommitEvent(
            logOffset: record.offset, timestamp: record.timestamp, group: key.group,
            topicPartition: TopicPartition(key.topic, Int(key.partition)), value: value,
            annotations: CommitAnnotations.decode(record.headers, isTombstone: value == nil))
    }
}
