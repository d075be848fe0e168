import SluiceCompression
import SluiceCore

/// Builds RecordBatch v2 bytes: records are appended straight into one buffer
/// after a reserved header, and `finish` compresses (for zstd), fills the
/// header and computes the CRC. Reuse one builder per stream; it allocates only
/// when a batch outgrows every earlier one.
public final class RecordBatchBuilder {
    /// One byte: a zero header count.
    public static let noHeaders: [UInt8] = [0]

    private let records = ByteBuffer(capacity: 1 << 16)
    private let compressed = ByteBuffer(capacity: 1 << 16)
    private var compressor: ZstdCompressor?
    public private(set) var recordCount: Int32 = 0
    private var firstTimestamp: Int64 = -1
    private var maxTimestamp: Int64 = -1
    private var lastOffsetDelta: Int32 = 0

    public let codec: CompressionCodec
    public let zstdLevel: Int32

    public init(codec: CompressionCodec = .none, zstdLevel: Int32 = Zstd.defaultLevel) {
        precondition(codec == .none || codec == .zstd, "sluice writes only uncompressed or zstd batches")
        self.codec = codec
        self.zstdLevel = zstdLevel
        reset()
    }

    /// Discards the batch in progress and starts an empty one.
    public func reset() {
        records.clear()
        records.shrink(toCapacity: 8 << 20)
        records.appendZeros(RecordBatchHeader.size)
        recordCount = 0
        firstTimestamp = -1
        maxTimestamp = -1
        lastOffsetDelta = 0
    }

    public var isEmpty: Bool { recordCount == 0 }

    /// Bytes the batch would take uncompressed.
    public var uncompressedSize: Int { records.count }

    /// Appends a record at the next offset delta.
    @inline(__always)
    public func append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int = 0, encodedHeaders: UnsafeRawBufferPointer? = nil
    ) {
        append(
            offsetDelta: recordCount, timestamp: timestamp, key: key, value: value,
            headerCount: headerCount, encodedHeaders: encodedHeaders)
    }

    /// Appends a record with an explicit offset delta (deltas must increase;
    /// gaps are allowed, as in a compacted or cut batch).
    @inline(__always)
    public func append(
        offsetDelta: Int32, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, encodedHeaders: UnsafeRawBufferPointer?
    ) {
        if recordCount == 0 { firstTimestamp = timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let timestampDelta = timestamp &- firstTimestamp
        let keyLength = key.map { Int32($0.count) } ?? -1
        let valueLength = value.map { Int32($0.count) } ?? -1
        let headersSize = encodedHeaders?.count ?? 0
        let bodySize =
            1 + Varint.size(signed: timestampDelta) + Varint.size(signed: offsetDelta)
            + Varint.size(signed: keyLength) + max(0, Int(keyLength))
            + Varint.size(signed: valueLength) + max(0, Int(valueLength))
            + Varint.size(signed: Int32(headerCount)) + headersSize
        records.reserve(bodySize + 5)
        var p = records.base + records.count
        p += Varint.write(signed: Int32(bodySize), to: p)
        p.storeBytes(of: 0, as: UInt8.self)
        p += 1
        p += Varint.write(signed: timestampDelta, to: p)
        p += Varint.write(signed: offsetDelta, to: p)
        p += Varint.write(signed: keyLength, to: p)
        if let key, key.count > 0 { p.copyMemory(from: key.baseAddress!, byteCount: key.count); p += key.count }
        p += Varint.write(signed: valueLength, to: p)
        if let value, value.count > 0 { p.copyMemory(from: value.baseAddress!, byteCount: value.count); p += value.count }
        p += Varint.write(signed: Int32(headerCount), to: p)
        if let encodedHeaders, headersSize > 0 {
            p.copyMemory(from: encodedHeaders.baseAddress!, byteCount: headersSize)
            p += headersSize
        }
        records.count = p - records.base
        lastOffsetDelta = offsetDelta
        recordCount += 1
    }

    /// Completes the batch at `baseOffset`, appends its bytes to `out`, returns
    /// its header, and starts a new empty batch. `template` supplies producer
    /// fields and attribute bits (transactional, control, timestamp type) when
    /// re-encoding an existing batch; the codec is always the builder's.
    @discardableResult
    public func finish(baseOffset: Int64, into out: ByteBuffer, template: RecordBatchHeader? = nil) throws -> RecordBatchHeader {
        precondition(recordCount > 0, "an empty batch is never written")
        var header = RecordBatchHeader(baseOffset: baseOffset)
        if let template {
            header.partitionLeaderEpoch = template.partitionLeaderEpoch
            header.attributes = template.attributes & ~0x07
            header.producerId = template.producerId
            header.producerEpoch = template.producerEpoch
            header.baseSequence = template.baseSequence
        }
        header.attributes |= codec.rawValue
        header.lastOffsetDelta = lastOffsetDelta
        header.baseTimestamp = firstTimestamp
        header.maxTimestamp = template?.timestampType == .logAppendTime ? template!.maxTimestamp : maxTimestamp
        header.recordsCount = recordCount

        let body: UnsafeRawBufferPointer
        let plain = UnsafeRawBufferPointer(rebasing: records.bytes[RecordBatchHeader.size...])
        if codec == .zstd {
            if compressor == nil { compressor = ZstdCompressor(level: zstdLevel) }
            compressed.clear()
            try compressor!.compress(plain, appendingTo: compressed)
            body = compressed.bytes
        } else {
            body = plain
        }
        header.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + body.count)
        let start = out.count
        out.reserve(RecordBatchHeader.size + body.count)
        out.count += RecordBatchHeader.size
        out.append(body)
        let batch = out.base + start
        header.write(to: batch)
        header.crc = CRC32C.checksum(
            batch + RecordBatchHeader.attributesOffset,
            count: header.totalSize - RecordBatchHeader.attributesOffset)
        batch.storeBigEndian(header.crc, at: RecordBatchHeader.crcOffset)
        reset()
        return header
    }
}

/// Encodes header lists in the record layout: a count, then for each header a
/// key length, key, value length (-1 for null) and value.
public enum HeaderEncoding {
    /// Appends the entries (without the count) to `out`.
    public static func appendEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?, to out: ByteBuffer) {
        out.appendVarint(Int32(key.count))
        out.append(key)
        if let value {
            out.appendVarint(Int32(value.count))
            out.append(value)
        } else {
            out.appendVarint(-1)
        }
    }

    public static func appendEntry(key: String, value: String?, to out: ByteBuffer) {
        var key = key
        key.withUTF8 { k in
            if var value {
                value.withUTF8 { appendEntry(key: UnsafeRawBufferPointer(k), value: UnsafeRawBufferPointer($0), to: out) }
            } else {
                appendEntry(key: UnsafeRawBufferPointer(k), value: nil, to: out)
            }
        }
    }
}

extension RecordBatchHeader {
    /// Rewrites the base offset of a complete batch in place. The base offset is
    /// outside the CRC, which is how Kafka's broker assigns offsets without
    /// re-encoding; redistribution and import use it the same way.
    public static func rebase(_ batch: UnsafeMutableRawPointer, to baseOffset: Int64) {
        batch.storeBigEndian(baseOffset, at: 0)
    }
}

extension RecordBatchHeader {
    /// Appends batches with no records that hold the offsets `baseOffset..<baseOffset + count`
    /// (as many as the 32-bit last offset delta needs). Kafka's log cleaner leaves such
    /// batches where it removed every record, and every consumer steps over them to the
    /// batch's next offset; a repair uses them so the offsets of records it had to cut off
    /// are never given to new records. `maxTimestamp` keeps the time index's running maximum.
    public static func appendOffsetGap(from baseOffset: Int64, count: Int64, maxTimestamp: Int64, to out: ByteBuffer) {
        var next = baseOffset
        while next < baseOffset + count {
            let span = min(baseOffset + count - next, Int64(Int32.max) + 1)
            var header = RecordBatchHeader(baseOffset: next, lastOffsetDelta: Int32(span - 1), maxTimestamp: maxTimestamp)
            let start = out.count
            out.reserve(RecordBatchHeader.size)
            out.count += RecordBatchHeader.size
            let batch = out.base + start
            header.write(to: batch)
            header.crc = CRC32C.checksum(batch + attributesOffset, count: size - attributesOffset)
            batch.storeBigEndian(header.crc, at: crcOffset)
            next += span
        }
    }
}
