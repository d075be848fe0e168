import CISAL
import SluiceCore

/// Kafka's gzip codec (RFC 1952 members, as Java's `GZIPOutputStream` writes
/// them) through ISA-L's igzip inflate, which parses the member header and
/// checks the CRC-32 and ISIZE trailer. Concatenated members decode one after
/// another, as Java's `GZIPInputStream` reads them; any other bytes after a
/// member are corruption.
public final class GzipDecompressor: Decompressor {
    /// About 85 KiB of decoding tables and window, allocated once per decoder.
    private let state = UnsafeMutablePointer<inflate_state>.allocate(capacity: 1)

    public init() { isal_inflate_init(state) }
    deinit { state.deallocate() }

    public func decompress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int) throws {
        guard source.count <= Int(UInt32.max) else { throw Decompression.corrupt("gzip data of \(source.count) bytes is too large") }
        let output = BoundedOutput(out, limit: limit, sourceSize: source.count, codec: "gzip")
        startMember(at: UnsafeMutableRawPointer(mutating: source.baseAddress), count: UInt32(source.count))
        while true {
            let room = output.room()
            state.pointee.next_out = room.baseAddress?.assumingMemoryBound(to: UInt8.self)
            state.pointee.avail_out = UInt32(clamping: room.count)
            let inputBefore = state.pointee.avail_in
            let status = isal_inflate(state)
            let written = room.count - Int(state.pointee.avail_out)
            output.commit(written)
            guard status >= ISAL_DECOMP_OK else { throw Decompression.corrupt("corrupt gzip data: \(Self.describe(status))") }
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                guard state.pointee.avail_in > 0 else { return }
                startMember(at: state.pointee.next_in, count: state.pointee.avail_in)
            } else if written == 0 && state.pointee.avail_in == inputBefore {
                throw output.stalled("the member does not end")
            }
        }
    }

    /// Resets the state to read a gzip member (header, deflate data, trailer) from the given input.
    private func startMember(at input: UnsafeMutableRawPointer?, count: UInt32) {
        isal_inflate_reset(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
        state.pointee.next_in = input?.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_in = count
    }

    private static func describe(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: return "invalid deflate block"
        case ISAL_INVALID_SYMBOL: return "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance"
        case ISAL_INVALID_WRAPPER: return "not a gzip member (bad header)"
        case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method in the gzip header"
        case ISAL_INCORRECT_CHECKSUM: return "CRC-32 or length in the gzip trailer does not match the data"
        default: return "igzip error \(status)"
        }
    }
}
