import SluiceCore

/// A legacy message-set entry (magic 0 or 1, kafka-format.md §1.8), which old
/// segments copied from a broker may still hold. Layout after the 12-byte
/// framing: crc (CRC-32 over magic..end), magic, attributes, [v1: timestamp],
/// key (int32 length), value (int32 length).
public struct LegacyMessage {
    public var offset: Int64
    public var magic: Int8
    public var attributes: Int8
    /// nil for magic 0, which has no timestamp.
    public var timestamp: Int64?
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer?
    public var crc: UInt32

    public var compression: CompressionCodec? { CompressionCodec(rawValue: Int16(attributes & 0x07)) }

    /// The message as a record without headers (legacy messages have none).
    public var record: Record {
        Record(offset: offset, timestamp: timestamp ?? -1, key: key, value: value)
    }

    /// Parses and checks one complete entry.
    public static func parse(_ entry: UnsafeRawBufferPointer) throws(FormatError) -> LegacyMessage {
        var cursor = ByteCursor(entry)
        let offset = try cursor.readBigEndian(Int64.self, "legacy offset")
        let size = try cursor.readBigEndian(Int32.self, "legacy size")
        guard Int(size) == cursor.remaining else { throw .invalid("legacy message size \(size) does not match its entry") }
        let crc = try cursor.readBigEndian(UInt32.self, "legacy crc")
        let computed = CRC32.checksum(cursor.position, count: cursor.remaining)
        guard computed == crc else { throw .checksumMismatch(stored: crc, computed: computed) }
        let magic = try cursor.readBigEndian(Int8.self, "legacy magic")
        guard magic == 0 || magic == 1 else { throw .unsupportedMagic(magic) }
        let attributes = try cursor.readBigEndian(Int8.self, "legacy attributes")
        let timestamp = magic == 1 ? try cursor.readBigEndian(Int64.self, "legacy timestamp") : nil
        let keyLength = try cursor.readBigEndian(Int32.self, "legacy key length")
        let key = keyLength < 0 ? nil : try cursor.readBytes(Int(keyLength), "legacy key")
        let valueLength = try cursor.readBigEndian(Int32.self, "legacy value length")
        let value = valueLength < 0 ? nil : try cursor.readBytes(Int(valueLength), "legacy value")
        guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes remain after a legacy message") }
        return LegacyMessage(offset: offset, magic: magic, attributes: attributes, timestamp: timestamp,
                             key: key, value: value, crc: crc)
    }
}
