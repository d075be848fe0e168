import SluiceCore

/// Decodes Kafka protocol primitives from a response or request body.
/// Every read checks the end and every length is checked against the bytes
/// left before anything is allocated, so a hostile or broken peer can only
/// produce a `ProtocolDecodingError`, never a crash or an unbounded allocation.
/// Byte fields (records, metadata) are slices of the input: no copy.
public struct ProtocolReader: Sendable {
    public let buffer: [UInt8]
    public private(set) var position: Int
    public let end: Int

    public init(_ buffer: [UInt8]) {
        self.init(buffer, from: 0, to: buffer.count)
    }

    init(_ buffer: [UInt8], from start: Int, to end: Int) {
        self.buffer = buffer
        position = start
        self.end = end
    }

    public var remaining: Int { end - position }
    public var isAtEnd: Bool { position == end }

    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(ProtocolDecodingError) -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw ProtocolDecodingError("\(what()) needs \(count) bytes, \(remaining) left")
        }
        defer { position += count }
        return position..<(position + count)
    }

    public mutating func readBigEndian<T: FixedWidthInteger>(_ type: T.Type) throws(ProtocolDecodingError) -> T {
        let range = try take(MemoryLayout<T>.size, "an integer")
        var value: T = 0
        for index in range { value = value << 8 | T(buffer[index]) }
        return value
    }

    public mutating func readInt8() throws(ProtocolDecodingError) -> Int8 { Int8(bitPattern: buffer[try take(1, "an int8").lowerBound]) }
    public mutating func readInt16() throws(ProtocolDecodingError) -> Int16 { try readBigEndian(Int16.self) }
    public mutating func readInt32() throws(ProtocolDecodingError) -> Int32 { try readBigEndian(Int32.self) }
    public mutating func readInt64() throws(ProtocolDecodingError) -> Int64 { try readBigEndian(Int64.self) }
    public mutating func readUInt16() throws(ProtocolDecodingError) -> UInt16 { try readBigEndian(UInt16.self) }
    public mutating func readUInt32() throws(ProtocolDecodingError) -> UInt32 { try readBigEndian(UInt32.self) }
    public mutating func readBool() throws(ProtocolDecodingError) -> Bool { try readInt8() != 0 }
    public mutating func readFloat64() throws(ProtocolDecodingError) -> Double { Double(bitPattern: try readBigEndian(UInt64.self)) }
    public mutating func readUUID() throws(ProtocolDecodingError) -> KafkaUUID {
        KafkaUUID(high: try readBigEndian(UInt64.self), low: try readBigEndian(UInt64.self))
    }

    public mutating func readUnsignedVarint() throws(ProtocolDecodingError) -> UInt64 {
        var result: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 70, by: 7) {
            let byte = buffer[try take(1, "a varint").lowerBound]
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
        }
        throw ProtocolDecodingError("a varint longer than 10 bytes")
    }

    /// A length (or element count) prefix; nil is null.
    mutating func readLength(flexible: Bool, wide: Bool, _ what: String) throws(ProtocolDecodingError) -> Int? {
        let length: Int64
        if flexible {
            let raw = try readUnsignedVarint()
            guard raw <= UInt64(Int32.max) else { throw ProtocolDecodingError("\(what) length \(raw) is out of range") }
            length = Int64(raw) - 1
        } else {
            length = wide ? Int64(try readInt32()) : Int64(try readInt16())
        }
        if length == -1 { return nil }
        guard length >= 0 else { throw ProtocolDecodingError("\(what) has length \(length)") }
        guard length <= remaining else {
            throw ProtocolDecodingError("\(what) claims \(length) entries or bytes, \(remaining) bytes left")
        }
        return Int(length)
    }

    public mutating func readNullableString(flexible: Bool) throws(ProtocolDecodingError) -> String? {
        guard let length = try readLength(flexible: flexible, wide: false, "a string") else { return nil }
        return String(decoding: buffer[try take(length, "a string")], as: UTF8.self)
    }

    public mutating func readString(flexible: Bool) throws(ProtocolDecodingError) -> String {
        guard let value = try readNullableString(flexible: flexible) else { throw ProtocolDecodingError("a null string where none may be") }
        return value
    }

    public mutating func readNullableBytes(flexible: Bool) throws(ProtocolDecodingError) -> ArraySlice<UInt8>? {
        guard let length = try readLength(flexible: flexible, wide: true, "a byte field") else { return nil }
        return buffer[try take(length, "a byte field")]
    }

    public mutating func readBytes(flexible: Bool) throws(ProtocolDecodingError) -> ArraySlice<UInt8> {
        guard let value = try readNullableBytes(flexible: flexible) else { throw ProtocolDecodingError("null bytes where none may be") }
        return value
    }

    public mutating func readNullableArray<Element>(
        flexible: Bool, _ readElement: (inout ProtocolReader) throws(ProtocolDecodingError) -> Element
    ) throws(ProtocolDecodingError) -> [Element]? {
        // Each element takes at least one byte, so the count is bounded by what is left.
        guard let count = try readLength(flexible: flexible, wide: true, "an array") else { return nil }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try readElement(&self)) }
        return elements
    }

    public mutating func readArray<Element>(
        flexible: Bool, _ readElement: (inout ProtocolReader) throws(ProtocolDecodingError) -> Element
    ) throws(ProtocolDecodingError) -> [Element] {
        guard let elements = try readNullableArray(flexible: flexible, readElement) else {
            throw ProtocolDecodingError("a null array where none may be")
        }
        return elements
    }

    /// The tagged-field section: each known tag is decoded by `readField`
    /// from a reader bounded to its size; unknown tags are skipped, as
    /// Kafka's own decoders do.
    public mutating func readTaggedFields(
        _ readField: (UInt32, inout ProtocolReader) throws(ProtocolDecodingError) -> Bool
    ) throws(ProtocolDecodingError) {
        let count = try readUnsignedVarint()
        guard count <= UInt64(remaining) else { throw ProtocolDecodingError("\(count) tagged fields, \(remaining) bytes left") }
        for _ in 0..<count {
            let tag = try readUnsignedVarint()
            guard tag <= UInt64(UInt32.max) else { throw ProtocolDecodingError("tag \(tag) is out of range") }
            let size = try readUnsignedVarint()
            let range = try take(Int(clamping: size), "tagged field \(tag)")
            var field = ProtocolReader(buffer, from: range.lowerBound, to: range.upperBound)
            _ = try readField(UInt32(tag), &field)
        }
    }
}

/// A response (or request) that does not follow the schema of its version.
public struct ProtocolDecodingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Kafka's 128-bit UUID (topic ids), as two big-endian halves.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
    public static let zero = KafkaUUID(high: 0, low: 0)
    /// As Kafka prints a Uuid: URL-safe base64 without padding.
    public var description: String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: high.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: low.bigEndian) { bytes += $0 }
        let standard = Base64.encode(bytes)
        return String(standard.compactMap { $0 == "=" ? nil : $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}
