import SluiceCore

/// A legacy message-set entry (magic 0 or 1, docs/FORMAT.md §1.8), which old
/// segments copied from a broker may still hold. Layout after the 12-byte
/// framing: crc (CRC-32 over magic..end), magic, attributes, [v1: timestamp],
/// key (int32 length), value (int32 length).
///
/// A compressed entry is a wrapper: its value is a nested message set, the
/// real messages (`BatchDecoder.messages(of:)` expands it).
public struct LegacyMessage {
    public var offset: Int64
    public var magic: Int8
    public var attributes: Int8
    /// nil for magic 0, which has no timestamp.
    public var timestamp: Int64?
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer?
    public var crc: UInt32
    /// Bits 0–2 of the attributes; `parse` refuses the undefined values 5–7.
    public var compression: CompressionCodec

    /// Attribute bit 3 of a magic-1 message: with LogAppendTime, the messages
    /// inside a compressed wrapper take the wrapper's timestamp.
    public var timestampType: TimestampType { magic == 1 && attributes & 0x08 != 0 ? .logAppendTime : .createTime }

    /// The message as a record without headers (legacy messages have none).
    public var record: Record {
        Record(offset: offset, timestamp: timestamp ?? -1, key: key, value: value)
    }

    /// Parses and checks one complete entry.
    public static func parse(_ entry: UnsafeRawBufferPointer) throws(FormatError) -> LegacyMessage {
        var cursor = ByteCursor(entry)
        let offset = try cursor.readBigEndian(Int64.self, "legacy offset")
        // Outside the CRC: a damaged offset must not pass as one, or overflow the offset after it.
        guard offset >= 0 && offset < Int64.max else { throw .invalid("legacy offset \(offset) is outside the offset range") }
        let size = try cursor.readBigEndian(Int32.self, "legacy size")
        guard Int(size) == cursor.remaining else { throw .invalid("legacy message size \(size) does not match its entry") }
        let crc = try cursor.readBigEndian(UInt32.self, "legacy crc")
        let computed = CRC32.checksum(cursor.position, count: cursor.remaining)
        guard computed == crc else { throw .checksumMismatch(stored: crc, computed: computed) }
        let magic = try cursor.readBigEndian(Int8.self, "legacy magic")
        guard magic == 0 || magic == 1 else { throw .unsupportedMagic(magic) }
        let attributes = try cursor.readBigEndian(Int8.self, "legacy attributes")
        guard let compression = CompressionCodec(rawValue: Int16(attributes & 0x07)) else {
            throw .unsupportedCompression(Int16(attributes & 0x07))
        }
        let timestamp = magic == 1 ? try cursor.readBigEndian(Int64.self, "legacy timestamp") : nil
        let keyLength = try cursor.readBigEndian(Int32.self, "legacy key length")
        let key = keyLength < 0 ? nil : try cursor.readBytes(Int(keyLength), "legacy key")
        let valueLength = try cursor.readBigEndian(Int32.self, "legacy value length")
        let value = valueLength < 0 ? nil : try cursor.readBytes(Int(valueLength), "legacy value")
        guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes remain after a legacy message") }
        return LegacyMessage(
            offset: offset, magic: magic, attributes: attributes, timestamp: timestamp,
            key: key, value: value, crc: crc, compression: compression)
    }

    /// The messages of this wrapper's decompressed value `messageSet`, with
    /// absolute offsets, checked as Kafka's deep iteration checks them: each
    /// is a complete, CRC-valid message of the wrapper's magic, none is
    /// compressed itself (nesting is one level deep), offsets increase, and
    /// the last one is the wrapper's offset. In magic 1 the inner offsets are
    /// relative (the wrapper holds the last one's absolute offset); in magic 0
    /// they are absolute already.
    public func innerMessages(of messageSet: UnsafeRawBufferPointer) throws(FormatError) -> [LegacyMessage] {
        var messages: [LegacyMessage] = []
        var position = 0
        while position < messageSet.count {
            guard messageSet.count - position >= RecordBatchHeader.logOverhead else {
                throw .truncated("message inside the wrapper at offset \(offset)")
            }
            let size = Int(messageSet.loadBigEndian(at: position + 8, as: Int32.self))
            let end = position + RecordBatchHeader.logOverhead + size
            guard size >= 0, end <= messageSet.count else {
                throw .invalid(
                    "a message inside the wrapper at offset \(offset) claims \(size) bytes; \(messageSet.count - position) remain")
            }
            let message = try LegacyMessage.parse(UnsafeRawBufferPointer(rebasing: messageSet[position..<end]))
            guard message.magic == magic else {
                throw .invalid("a magic-\(message.magic) message inside the magic-\(magic) wrapper at offset \(offset)")
            }
            guard message.compression == .none else {
                throw .invalid("a \(message.compression.name)-compressed message nested inside the wrapper at offset \(offset)")
            }
            if let previous = messages.last, message.offset <= previous.offset {
                throw .invalid("inner offsets go back (\(previous.offset), then \(message.offset)) in the wrapper at offset \(offset)")
            }
            messages.append(message)
            position = end
        }
        guard let first = messages.first?.offset, let last = messages.last?.offset else {
            throw .invalid("the \(compression.name)-compressed wrapper at offset \(offset) holds no messages")
        }
        let shift = magic == 1 ? offset - last : 0
        guard first + shift >= 0, last + shift == offset else {
            throw .invalid("the wrapper at offset \(offset) holds offsets \(first + shift)...\(last + shift), which must end at its own")
        }
        for i in messages.indices {
            messages[i].offset += shift
            if timestampType == .logAppendTime { messages[i].timestamp = timestamp }
        }
        return messages
    }
}
