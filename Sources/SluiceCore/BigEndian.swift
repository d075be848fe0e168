/// Big-endian loads and stores on raw memory. Kafka's formats are big-endian
/// and unaligned, so every fixed-width field goes through these.
extension UnsafeRawPointer {
    @inlinable @inline(__always)
    public func loadBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    @inlinable @inline(__always)
    public func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a big-endian integer at `offset`; the caller guarantees the bounds.
    @inlinable @inline(__always)
    public func loadBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        baseAddress!.loadBigEndian(at: offset, as: T.self)
    }
}
