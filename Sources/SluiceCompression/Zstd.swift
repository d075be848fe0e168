import CZstd
import SluiceCore

/// zstd through libzstd. Contexts are reused across calls (creating one costs
/// far more than compressing a 16 KiB batch), so each codec object is owned by
/// one thread at a time.
public enum Zstd {
    public static let defaultLevel: Int32 = 3
    public static var maxLevel: Int32 { ZSTD_maxCLevel() }
    /// The magic number that starts every zstd frame (little-endian 28 B5 2F FD).
    public static let frameMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    static func check(_ code: Int, _ what: String) throws -> Int {
        if ZSTD_isError(code) != 0 {
            throw SluiceError.failure(.corruptCompressedData, "\(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
        return code
    }
}

/// One-shot compression of whole buffers (a batch's records).
public final class ZstdCompressor {
    private let context: OpaquePointer

    public init(level: Int32 = Zstd.defaultLevel) {
        context = ZSTD_createCCtx()!
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `source` as one frame (with its content size) appended to `out`.
    public func compress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer) throws {
        let bound = ZSTD_compressBound(source.count)
        out.reserve(bound)
        let written = try Zstd.check(
            ZSTD_compress2(context, out.base + out.count, bound, source.baseAddress, source.count), "zstd compression failed")
        out.count += written
    }
}

/// Decompression of whole frames into a caller's buffer, by streaming, because
/// Kafka's producers usually omit the content size from the frame header.
public final class ZstdDecompressor: Decompressor {
    private let context: OpaquePointer

    public init() { context = ZSTD_createDCtx()! }
    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses all of `source` (one or more complete frames) onto `out`.
    /// Fails if the data is corrupt, truncated, or would exceed `limit` bytes,
    /// so a hostile input cannot make it allocate without bound.
    public func decompress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int) throws {
        _ = ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        let output = BoundedOutput(out, limit: limit, sourceSize: source.count, codec: "zstd")
        var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        while true {
            let room = output.room()
            var buffer = ZSTD_outBuffer(dst: room.baseAddress, size: room.count, pos: 0)
            let inputBefore = input.pos
            let frameLeft = try Zstd.check(ZSTD_decompressStream(context, &buffer, &input), "corrupt zstd data")
            output.commit(buffer.pos)
            if frameLeft == 0 && input.pos == input.size { return }
            if buffer.pos == 0 && input.pos == inputBefore { throw output.stalled("the frame does not end") }
        }
    }
}

/// Streaming compression for archives, using libzstd's own worker threads
/// when `threads` > 1 (the output stays one standard zstd frame).
public final class ZstdStreamEncoder {
    private let context: OpaquePointer
    private let output: ByteBuffer
    private let sink: (UnsafeRawBufferPointer) throws -> Void

    /// `sink` receives compressed bytes as they are produced.
    public init(level: Int32, threads: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        context = ZSTD_createCCtx()!
        output = ByteBuffer(capacity: ZSTD_CStreamOutSize())
        self.sink = sink
        _ = try Zstd.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "invalid zstd level \(level)")
        if threads > 1 {
            _ = try Zstd.check(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, Int32(threads)), "zstd threads unsupported")
        }
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    public func write(_ source: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    /// Ends the frame and flushes everything to the sink.
    public func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }

    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.base, size: output.capacity, pos: 0)
        let remaining = try Zstd.check(ZSTD_compressStream2(context, &out, &input, directive), "zstd compression failed")
        if out.pos > 0 { try sink(UnsafeRawBufferPointer(start: output.base, count: out.pos)) }
        return remaining
    }
}

/// Streaming decompression for archives: feed compressed bytes, receive plain
/// bytes through the sink; `finish` fails if the stream ended mid-frame.
public final class ZstdStreamDecoder {
    private let context: OpaquePointer
    private let output: ByteBuffer
    private var frameOpen = false
    private var sawAnything = false

    public init() {
        context = ZSTD_createDCtx()!
        output = ByteBuffer(capacity: ZSTD_DStreamOutSize())
    }

    deinit { ZSTD_freeDCtx(context) }

    public func feed(_ source: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        if source.count > 0 { sawAnything = true }
        while true {
            var out = ZSTD_outBuffer(dst: output.base, size: output.capacity, pos: 0)
            let consumed = input.pos
            let hint = try Zstd.check(ZSTD_decompressStream(context, &out, &input), "corrupt zstd stream")
            // After a frame's end, a call that reads and writes nothing (the
            // output buffer was exactly full) hints at the next frame's
            // header: that does not open one.
            if hint == 0 { frameOpen = false } else if input.pos > consumed || out.pos > 0 { frameOpen = true }
            if out.pos > 0 { try sink(UnsafeRawBufferPointer(start: output.base, count: out.pos)) }
            // Done when the input is used up and either the output was not
            // filled or the frame ended: a frame that ends with the output
            // exactly full must not be called again, or the next call's hint
            // (the size of a next frame's header) would read as a frame left open.
            if input.pos == input.size && (out.pos < out.size || hint == 0) { return }
        }
    }

    public func finish() throws {
        guard sawAnything else { throw SluiceError.failure(.corruptCompressedData, "empty input: no zstd frame") }
        if frameOpen { throw SluiceError.failure(.corruptCompressedData, "truncated zstd stream (it ends inside a frame)") }
    }
}
