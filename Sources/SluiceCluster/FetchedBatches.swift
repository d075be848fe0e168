import KafkaFormat
import SluiceCore

/// A record found in fetched bytes.
struct FetchedRecord: Equatable {
    var offset: Int64
    var timestamp: Int64
}

/// The log entries a Fetch returns: whole batches (or legacy message sets)
/// as the broker stores them, the last possibly cut short by the size limit.
enum FetchedBatches {
    /// The first record at or after `offset`, nil when the bytes end first.
    /// A damaged entry (bad CRC, impossible size) is an error: a broker never
    /// sends one, so it means corruption on the way or on its disk.
    static func firstRecord(in bytes: ArraySlice<UInt8>, atOrAfter offset: Int64, decoder: BatchDecoder) throws -> FetchedRecord? {
        try bytes.withUnsafeBytes { area -> FetchedRecord? in
            var entries = LogEntries(area)
            while let entry = try entries.next() {
                switch entry {
                case .legacy(let message):
                    for message in try decoder.messages(of: message) where message.offset >= offset {
                        return FetchedRecord(offset: message.offset, timestamp: message.timestamp ?? -1)
                    }
                case .batch(let header, let batch):
                    guard header.lastOffset >= offset, !header.isControl else { continue }
                    if header.timestampType == .logAppendTime {
                        return FetchedRecord(offset: max(offset, header.baseOffset), timestamp: header.maxTimestamp)
                    }
                    var records = try decoder.records(of: batch, header: header)
                    while let record = try records.next() {
                        if record.offset >= offset { return FetchedRecord(offset: record.offset, timestamp: record.timestamp) }
                    }
                }
            }
            return nil
        }
    }
}
