import SluiceCore

/// A bounds-checked reader over raw bytes: big-endian integers, Kafka's
/// zig-zag varints (at most 5 bytes) and varlongs (at most 10), and slices.
/// Every read checks the end, so hostile input can only produce a
/// `FormatError`, never an out-of-bounds access.
public struct ByteCursor {
    public var position: UnsafeRawPointer
    public let end: UnsafeRawPointer

    @inlinable @inline(__always)
    public init(_ bytes: UnsafeRawBufferPointer) {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        position = base
        end = base + bytes.count
    }

    @inlinable @inline(__always)
    public var remaining: Int { end - position }

    @inlinable @inline(__always)
    public var isAtEnd: Bool { position == end }

    @inlinable @inline(__always)
    public mutating func readBigEndian<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws(FormatError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw .truncated(what()) }
        let v = position.loadBigEndian(at: 0, as: T.self)
        position += MemoryLayout<T>.size
        return v
    }

    /// Unsigned LEB128, at most `maxBytes` bytes.
    @inlinable @inline(__always)
    public mutating func readUnsignedVarint(maxBytes: Int) throws(FormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maxBytes {
            guard position < end else { throw .truncated("varint") }
            let byte = position.load(as: UInt8.self)
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw .invalid("varint longer than \(maxBytes) bytes")
    }

    /// Zig-zag varint (Kafka's `readVarint`): an Int32 in at most 5 bytes.
    @inlinable @inline(__always)
    public mutating func readVarint() throws(FormatError) -> Int32 {
        // Fast path: one byte.
        if position < end {
            let byte = position.load(as: UInt8.self)
            if byte & 0x80 == 0 {
                position += 1
                return Int32(byte >> 1) ^ -Int32(byte & 1)
            }
        }
        let raw = try readUnsignedVarint(maxBytes: 5)
        let u = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Zig-zag varlong: an Int64 in at most 10 bytes.
    @inlinable @inline(__always)
    public mutating func readVarlong() throws(FormatError) -> Int64 {
        let u = try readUnsignedVarint(maxBytes: 10)
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// `count` bytes as a slice of the underlying buffer.
    @inlinable @inline(__always)
    public mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws(FormatError) -> UnsafeRawBufferPointer {
        guard count >= 0 else { throw .invalid("negative length for \(what())") }
        guard remaining >= count else { throw .truncated(what()) }
        let slice = UnsafeRawBufferPointer(start: position, count: count)
        position += count
        return slice
    }

    @inlinable @inline(__always)
    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws(FormatError) {
        guard count >= 0, remaining >= count else { throw .truncated(what()) }
        position += count
    }
}

/// Varint encoding (the writer side of `ByteCursor`).
public enum Varint {
    @inlinable @inline(__always)
    public static func zigZag(_ v: Int32) -> UInt32 { UInt32(bitPattern: (v << 1) ^ (v >> 31)) }

    @inlinable @inline(__always)
    public static func zigZag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    /// Bytes needed for an unsigned varint.
    @inlinable @inline(__always)
    public static func size(_ u: UInt64) -> Int {
        // 1 + floor(bits/7), where bits = 64 - leadingZeros (at least 1).
        let bits = 64 - (u | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inlinable @inline(__always)
    public static func size(signed v: Int32) -> Int { size(UInt64(zigZag(v))) }

    @inlinable @inline(__always)
    public static func size(signed v: Int64) -> Int { size(zigZag(v)) }

    /// Writes an unsigned varint at `p`; returns the bytes written.
    @inlinable @inline(__always)
    public static func write(_ value: UInt64, to p: UnsafeMutableRawPointer) -> Int {
        var u = value
        var i = 0
        while u >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: u) | 0x80, toByteOffset: i, as: UInt8.self)
            u >>= 7
            i += 1
        }
        p.storeBytes(of: UInt8(u), toByteOffset: i, as: UInt8.self)
        return i + 1
    }

    @inlinable @inline(__always)
    public static func write(signed v: Int32, to p: UnsafeMutableRawPointer) -> Int { write(UInt64(zigZag(v)), to: p) }

    @inlinable @inline(__always)
    public static func write(signed v: Int64, to p: UnsafeMutableRawPointer) -> Int { write(zigZag(v), to: p) }
}

extension ByteBuffer {
    @inlinable @inline(__always)
    public func appendVarint(_ v: Int32) {
        reserve(5)
        count += Varint.write(signed: v, to: base + count)
    }

    @inlinable @inline(__always)
    public func appendVarlong(_ v: Int64) {
        reserve(10)
        count += Varint.write(signed: v, to: base + count)
    }

    @inlinable @inline(__always)
    public func appendUnsignedVarint(_ v: UInt64) {
        reserve(10)
        count += Varint.write(v, to: base + count)
    }
}
