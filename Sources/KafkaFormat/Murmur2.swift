/// Kafka's default partitioner for keyed records (docs/FORMAT.md §4.1):
/// `(murmur2(key) & 0x7fffffff) % partitions`, MurmurHash2 with seed 0x9747b28c.
public enum KafkaPartitioner {
    public static func murmur2(_ data: UnsafeRawBufferPointer) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var i = 0
        while i + 4 <= length {
            var k = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
            i += 4
        }
        let tail = length & 3
        if tail == 3 { h ^= UInt32(data[i + 2]) << 16 }
        if tail >= 2 { h ^= UInt32(data[i + 1]) << 8 }
        if tail >= 1 {
            h ^= UInt32(data[i])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    public static func murmur2(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { murmur2($0) }
    }

    /// The partition Kafka's producer picks for a non-null key.
    @inline(__always)
    public static func partition(forKey key: UnsafeRawBufferPointer, partitions: Int) -> Int {
        Int(UInt32(bitPattern: murmur2(key)) & 0x7fff_ffff) % partitions
    }
}
