/// The log entries of a record set in memory, as a broker stores and a Fetch
/// returns them: whole batches (magic 2, each checked by `validate`) and
/// legacy messages (magic 0/1). A trailing entry cut short (a Fetch's size
/// limit) ends the walk; an entry whose framing is impossible is an error.
public struct LogEntries {
    public enum Entry {
        /// A checked batch and its bytes.
        case batch(RecordBatchHeader, UnsafeRawBufferPointer)
        /// A legacy message (a compressed one wraps others: `BatchDecoder.messages(of:)`).
        case legacy(LegacyMessage)
    }

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public mutating func next() throws(FormatError) -> Entry? {
        guard position < bytes.count else { return nil }
        switch LogEntryFrame.inspect(bytes, at: position) {
        case .incomplete:
            return nil
        case .invalid(let problem):
            throw .invalid(problem)
        case .legacy(let size, _):
            let entry = UnsafeRawBufferPointer(rebasing: bytes[position..<position + size])
            position += size
            return .legacy(try LegacyMessage.parse(entry))
        case .batch(let size):
            let entry = UnsafeRawBufferPointer(rebasing: bytes[position..<position + size])
            position += size
            let header = RecordBatchHeader(entry.baseAddress!)
            try header.validate(entry)
            return .batch(header, entry)
        }
    }
}
