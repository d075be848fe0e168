import CISAL
import CLZ4
import CSnappy
import SluiceCompression
import SluiceCore

/// Compressors for every Kafka codec, to make test inputs the fixtures do not
/// cover (large, nested, multi-member or multi-chunk data): those sluice only
/// reads straight from the C libraries, zstd through sluice's own encoder.
public enum TestCompression {
    /// One gzip member (ISA-L level 0; any deflate encoder's output is valid input).
    public static func gzip(_ data: [UInt8]) -> [UInt8] {
        let stream = UnsafeMutablePointer<isal_zstream>.allocate(capacity: 1)
        defer { stream.deallocate() }
        isal_deflate_init(stream)
        stream.pointee.gzip_flag = UInt16(IGZIP_GZIP)
        stream.pointee.end_of_stream = 1
        var out = [UInt8](repeating: 0, count: data.count + data.count / 8 + 1024)
        var input = data
        let written = input.withUnsafeMutableBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                stream.pointee.next_in = source.baseAddress
                stream.pointee.avail_in = UInt32(source.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = UInt32(target.count)
                precondition(isal_deflate_stateless(stream) == COMP_OK, "isal_deflate_stateless failed")
                return Int(stream.pointee.total_out)
            }
        }
        return Array(out[0..<written])
    }

    /// Raw snappy, as librdkafka writes it.
    public static func snappy(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: snappy_max_compressed_length(data.count))
        var length = out.count
        let status = data.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                snappy_compress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                    target.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        precondition(status == SNAPPY_OK, "snappy_compress failed")
        return Array(out[0..<length])
    }

    /// Xerial framing, as snappy-java (Kafka's Java clients) writes it: magic,
    /// version 1, compatible version 1, then int32-BE length + raw snappy per chunk.
    public static func snappyXerial(_ data: [UInt8], chunkSize: Int = 32 << 10) -> [UInt8] {
        var out: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        for start in stride(from: 0, to: data.count, by: chunkSize) {
            let chunk = snappy(Array(data[start..<min(start + chunkSize, data.count)]))
            out += bigEndian(UInt32(chunk.count)) + chunk
        }
        return out
    }

    /// One LZ4 frame with 64 KiB independent blocks, as Kafka's lz4 codec writes it;
    /// optionally declaring the content size and carrying block and content checksums.
    public static func lz4(_ data: [UInt8], declaringSize: Bool = false, checksums: Bool = false) -> [UInt8] {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        if declaringSize { preferences.frameInfo.contentSize = UInt64(data.count) }
        if checksums {
            preferences.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
            preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        }
        var out = [UInt8](repeating: 0, count: LZ4F_compressFrameBound(data.count, &preferences))
        let written = data.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                LZ4F_compressFrame(target.baseAddress, target.count, source.baseAddress, source.count, &preferences)
            }
        }
        precondition(LZ4F_isError(written) == 0, "LZ4F_compressFrame failed")
        return Array(out[0..<written])
    }

    /// One zstd frame, as sluice's batch builder writes it.
    public static func zstd(_ data: [UInt8]) -> [UInt8] {
        let out = ByteBuffer()
        try! data.withUnsafeBytes { try ZstdCompressor().compress($0, appendingTo: out) }
        return out.array
    }

    public static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
