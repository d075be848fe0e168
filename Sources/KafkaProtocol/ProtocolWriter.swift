/// Encodes Kafka protocol primitives, big-endian, into one growing buffer.
/// `flexible` selects the compact forms of flexible versions (KIP-482):
/// lengths as unsigned varints of length + 1, with 0 for null.
public struct ProtocolWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    public mutating func writeInt16(_ value: Int16) { writeBigEndian(value) }
    public mutating func writeInt32(_ value: Int32) { writeBigEndian(value) }
    public mutating func writeInt64(_ value: Int64) { writeBigEndian(value) }
    public mutating func writeUInt16(_ value: UInt16) { writeBigEndian(value) }
    public mutating func writeUInt32(_ value: UInt32) { writeBigEndian(value) }
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func writeFloat64(_ value: Double) { writeBigEndian(value.bitPattern) }
    public mutating func writeUUID(_ value: KafkaUUID) {
        writeBigEndian(value.high)
        writeBigEndian(value.low)
    }

    public mutating func writeUnsignedVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A length (or element count) prefix; nil is null.
    mutating func writeLength(_ length: Int?, flexible: Bool, wide: Bool) {
        if flexible {
            writeUnsignedVarint(length.map { UInt64($0) + 1 } ?? 0)
        } else if wide {
            writeInt32(length.map { Int32(clamping: $0) } ?? -1)
        } else {
            writeInt16(length.map { Int16(clamping: $0) } ?? -1)
        }
    }

    public mutating func writeString(_ value: String?, flexible: Bool) {
        guard let value else { return writeLength(nil, flexible: flexible, wide: false) }
        let utf8 = value.utf8
        writeLength(utf8.count, flexible: flexible, wide: false)
        bytes.append(contentsOf: utf8)
    }

    public mutating func writeBytes(_ value: ArraySlice<UInt8>?, flexible: Bool) {
        guard let value else { return writeLength(nil, flexible: flexible, wide: true) }
        writeLength(value.count, flexible: flexible, wide: true)
        bytes.append(contentsOf: value)
    }

    public mutating func writeArray<Element>(
        _ elements: [Element]?, flexible: Bool, _ writeElement: (inout ProtocolWriter, Element) -> Void
    ) {
        writeLength(elements?.count, flexible: flexible, wide: true)
        for element in elements ?? [] { writeElement(&self, element) }
    }

    /// The tagged-field section that ends every structure in a flexible
    /// version: the count, then each field as tag, size and bytes, by tag.
    public mutating func writeTaggedFields(_ fields: [(tag: UInt32, write: (inout ProtocolWriter) -> Void)]) {
        writeUnsignedVarint(UInt64(fields.count))
        for field in fields.sorted(by: { $0.tag < $1.tag }) {
            var body = ProtocolWriter(reservingCapacity: 16)
            field.write(&body)
            writeUnsignedVarint(UInt64(field.tag))
            writeUnsignedVarint(UInt64(body.count))
            bytes.append(contentsOf: body.bytes)
        }
    }
}
