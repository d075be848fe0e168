import CLZ4
import SluiceCore

/// Kafka's lz4 codec: one LZ4 frame (magic `04 22 4D 18`, docs/FORMAT.md
/// §1.5) through liblz4's frame decoder, which checks the header checksum and,
/// when the frame has them, block and content checksums. A content size in
/// the header is checked against the limit before anything is decoded; bytes
/// after the frame are corruption.
public final class LZ4Decompressor: Decompressor {
    public static let frameMagic: [UInt8] = [0x04, 0x22, 0x4D, 0x18]
    private let context: OpaquePointer

    public init() {
        var made: OpaquePointer?
        let status = LZ4F_createDecompressionContext(&made, UInt32(LZ4F_VERSION))
        precondition(LZ4F_isError(status) == 0, "lz4 context: \(String(cString: LZ4F_getErrorName(status)))")
        context = made!
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    public func decompress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int) throws {
        try decompress(source, appendingTo: out, limit: limit, ignoringHeaderChecksum: false)
    }

    /// `ignoringHeaderChecksum` reads frames from legacy magic-0 messages,
    /// whose writer (Kafka before 0.10) computed the header checksum over the
    /// magic number too (KAFKA-3160); Kafka's reader skips that check for them.
    public func decompress(
        _ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int,
        ignoringHeaderChecksum: Bool
    ) throws {
        LZ4F_resetDecompressionContext(context)
        let output = BoundedOutput(out, limit: limit, sourceSize: source.count, codec: "lz4")
        var info = LZ4F_frameInfo_t()
        var position: Int
        if ignoringHeaderChecksum, let header = Self.headerWithCorrectChecksum(source) {
            position = try header.withUnsafeBytes { try readHeader($0, into: &info) }
        } else {
            position = try readHeader(source, into: &info)
        }
        if info.contentSize > 0 { try output.admit(declared: Int(clamping: info.contentSize)) }
        while true {
            let room = output.room()
            var written = room.count
            var consumed = source.count - position
            let hint = try check(
                LZ4F_decompress(context, room.baseAddress, &written, source.baseAddress.map { $0 + position }, &consumed, nil))
            position += consumed
            output.commit(written)
            if hint == 0 {
                guard position == source.count else {
                    throw Decompression.corrupt("corrupt lz4 data: \(source.count - position) bytes follow the frame")
                }
                return
            }
            if written == 0 && consumed == 0 { throw output.stalled("the frame does not end") }
        }
    }

    /// Decodes the frame header (validating its checksum) and returns its size.
    private func readHeader(_ bytes: UnsafeRawBufferPointer, into info: inout LZ4F_frameInfo_t) throws -> Int {
        var size = bytes.count
        _ = try check(LZ4F_getFrameInfo(context, &info, bytes.baseAddress, &size))
        return size
    }

    private func check(_ code: Int) throws -> Int {
        if LZ4F_isError(code) != 0 {
            throw Decompression.corrupt("corrupt lz4 data: \(String(cString: LZ4F_getErrorName(code)))")
        }
        return code
    }

    /// A copy of the frame header with its checksum byte recomputed, or nil
    /// when the source is too short to hold the header it describes.
    static func headerWithCorrectChecksum(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        let descriptorStart = frameMagic.count
        guard source.count > descriptorStart else { return nil }
        let flags = source[descriptorStart]
        // FLG and BD, then the optional content size (8 bytes) and dictionary id (4).
        let descriptorSize = 2 + (flags & 0x08 != 0 ? 8 : 0) + (flags & 0x01 != 0 ? 4 : 0)
        let checksumAt = descriptorStart + descriptorSize
        guard source.count > checksumAt else { return nil }
        var header = Array(source[0...checksumAt])
        header[checksumAt] = UInt8(truncatingIfNeeded: XXH32.hash(header[descriptorStart..<checksumAt]) >> 8)
        return header
    }
}

/// xxHash32 with seed 0 for inputs under 16 bytes: the LZ4 frame header
/// checksum is its second byte over the frame descriptor (at most 14 bytes).
enum XXH32 {
    private static let prime1: UInt32 = 0x9E37_79B1, prime2: UInt32 = 0x85EB_CA77, prime3: UInt32 = 0xC2B2_AE3D
    private static let prime4: UInt32 = 0x27D4_EB2F, prime5: UInt32 = 0x1656_67B1

    static func hash(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        precondition(bytes.count < 16, "the short-input form of xxHash32 only")
        var h = prime5 &+ UInt32(bytes.count)
        var i = bytes.startIndex
        while bytes.endIndex - i >= 4 {
            let word = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            h = rotateLeft(h &+ word &* prime3, 17) &* prime4
            i += 4
        }
        while i < bytes.endIndex {
            h = rotateLeft(h &+ UInt32(bytes[i]) &* prime5, 11) &* prime1
            i += 1
        }
        h ^= h >> 15
        h = h &* prime2
        h ^= h >> 13
        h = h &* prime3
        return h ^ (h >> 16)
    }

    private static func rotateLeft(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
}
