import SluiceCore

/// The contract every codec's decoder keeps: decompress one whole compressed
/// blob (a batch's records, a legacy wrapper's value) onto the end of a reused
/// buffer, or fail with `corruptCompressedData`.
///
/// No call produces more than `limit` bytes: where the format declares its
/// decompressed size, that size is checked before anything is allocated, and
/// streaming decoders are never given room beyond the limit. So a hostile
/// input cannot make a reader allocate without bound. Each decoder reuses its
/// library context across calls and is owned by one thread at a time.
public protocol Decompressor: AnyObject {
    func decompress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int) throws
}

/// The caller's buffer as a streaming decoder fills it: grown in steps sized
/// to the input, never given room past `limit` bytes of output.
struct BoundedOutput {
    let buffer: ByteBuffer
    let start: Int
    let limit: Int
    let codec: String
    private let step: Int

    init(_ buffer: ByteBuffer, limit: Int, sourceSize: Int, codec: String) {
        self.buffer = buffer
        self.start = buffer.count
        self.limit = limit
        self.codec = codec
        // Kafka batches of text typically expand 3-5x; 64 KiB keeps tiny inputs
        // from growing the buffer in many small steps.
        step = max(sourceSize * 4, 64 << 10)
    }

    var produced: Int { buffer.count - start }
    var isFull: Bool { produced >= limit }

    /// Makes room and returns where the decoder may write next: empty once the limit is reached.
    func room() -> UnsafeMutableRawBufferPointer {
        let allowed = limit - produced
        buffer.reserve(min(step, allowed))
        return UnsafeMutableRawBufferPointer(start: buffer.base + buffer.count, count: min(buffer.capacity - buffer.count, allowed))
    }

    /// Counts `written` bytes the decoder put in the room.
    func commit(_ written: Int) { buffer.count += written }

    /// Checks a size the format declares before allocating for it.
    func admit(declared size: Int) throws {
        if size > limit - produced { throw Decompression.tooLarge(codec, limit, declared: size) }
    }

    /// What to throw when a decoder made no progress: it wants more room than
    /// the limit leaves, or more input than there is.
    func stalled(_ what: String) -> SluiceError {
        isFull ? Decompression.tooLarge(codec, limit) : Decompression.corrupt("truncated \(codec) data (\(what))")
    }
}

enum Decompression {
    static func corrupt(_ message: String) -> SluiceError {
        SluiceError.failure(.corruptCompressedData, message)
    }

    static func tooLarge(_ codec: String, _ limit: Int, declared: Int? = nil) -> SluiceError {
        corrupt("\(codec) data \(declared.map { "declares \($0) bytes, beyond" } ?? "expands beyond") the \(limit)-byte limit")
    }
}

extension SluiceError.Reason {
    public static let corruptCompressedData = Self("corrupt-compressed-data")
}
