import CSnappy
import SluiceCore

/// Kafka's snappy codec in both forms found on disk (docs/FORMAT.md §1.5):
/// raw snappy (librdkafka, KafkaJS) and xerial framing (Java clients, through
/// snappy-java): the 8-byte magic `82 53 4E 41 50 50 59 00`, int32 version,
/// int32 minimum compatible version, then repeated int32-BE chunk length +
/// raw snappy chunk. As snappy-java does, input that does not start with the
/// magic is raw snappy.
public final class SnappyDecompressor: Decompressor {
    public static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// Magic, version and minimum compatible version.
    static let xerialHeaderSize = 16

    public init() {}

    public func decompress(_ source: UnsafeRawBufferPointer, appendingTo out: ByteBuffer, limit: Int) throws {
        let output = BoundedOutput(out, limit: limit, sourceSize: source.count, codec: "snappy")
        guard Self.isXerial(source) else { return try decompressRaw(source, into: output) }
        guard source.count >= Self.xerialHeaderSize else {
            throw Decompression.corrupt("truncated snappy data (the xerial header is cut short)")
        }
        var position = Self.xerialHeaderSize
        while position < source.count {
            guard source.count - position >= 4 else {
                throw Decompression.corrupt("truncated snappy data (a xerial chunk length is cut short)")
            }
            let length = Int(source.baseAddress!.loadBigEndian(at: position) as Int32)
            position += 4
            guard length >= 0, length <= source.count - position else {
                throw Decompression.corrupt("corrupt snappy data: xerial chunk length \(length) with \(source.count - position) bytes left")
            }
            try decompressRaw(UnsafeRawBufferPointer(rebasing: source[position..<(position + length)]), into: output)
            position += length
        }
    }

    static func isXerial(_ source: UnsafeRawBufferPointer) -> Bool {
        source.count >= xerialMagic.count && source.prefix(xerialMagic.count).elementsEqual(xerialMagic)
    }

    /// One raw snappy block: its declared length is checked against the limit
    /// before the room for it is reserved.
    private func decompressRaw(_ chunk: UnsafeRawBufferPointer, into output: BoundedOutput) throws {
        let compressed = chunk.baseAddress?.assumingMemoryBound(to: CChar.self)
        var declared = 0
        guard snappy_uncompressed_length(compressed, chunk.count, &declared) == SNAPPY_OK else {
            throw Decompression.corrupt("corrupt snappy data: no valid uncompressed length")
        }
        try output.admit(declared: declared)
        output.buffer.reserve(declared)
        var written = declared
        let status = snappy_uncompress(
            compressed, chunk.count, (output.buffer.base + output.buffer.count).assumingMemoryBound(to: CChar.self), &written)
        guard status == SNAPPY_OK, written == declared else { throw Decompression.corrupt("corrupt or truncated snappy data") }
        output.commit(written)
    }
}
