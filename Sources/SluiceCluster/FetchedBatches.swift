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
            var position = 0
            while position < area.count {
                switch LogEntryFrame.inspect(area, at: position) {
                case .incomplete:
                    return nil
                case .invalid(let problem):
                    throw FormatError.invalid(problem)
                case .legacy(let size, _):
                    let entry = UnsafeRawBufferPointer(rebasing: area[position..<position + size])
                    for message in try decoder.messages(of: try LegacyMessage.parse(entry)) where message.offset >= offset {
                        return FetchedRecord(offset: message.offset, timestamp: message.timestamp ?? -1)
                    }
                    position += size
                case .batch(let size):
                    let entry = UnsafeRawBufferPointer(rebasing: area[position..<position + size])
                    let header = RecordBatchHeader(entry.baseAddress!)
                    try header.validate(entry)
                    position += size
                    guard header.lastOffset >= offset, !header.isControl else { continue }
                    if header.timestampType == .logAppendTime {
                        return FetchedRecord(offset: max(offset, header.baseOffset), timestamp: header.maxTimestamp)
                    }
                    var records = try decoder.records(of: entry, header: header)
                    while let record = try records.next() {
                        if record.offset >= offset { return FetchedRecord(offset: record.offset, timestamp: record.timestamp) }
                    }
                }
            }
            return nil
        }
    }
}
