import SluiceCompression
import SluiceCore

/// One record, as views into the batch (or decompressed) bytes it came from;
/// valid only while those bytes are. Decoding allocates nothing.
public struct Record {
    public var offset: Int64
    public var timestamp: Int64
    public var attributes: Int8
    /// nil is a null key.
    public var key: UnsafeRawBufferPointer?
    /// nil is a null value (a tombstone).
    public var value: UnsafeRawBufferPointer?
    public var headerCount: Int
    /// The encoded header entries after the count; iterate with `headers`.
    public var encodedHeaders: UnsafeRawBufferPointer

    public init(
        offset: Int64, timestamp: Int64, attributes: Int8 = 0, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int = 0, encodedHeaders: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.attributes = attributes
        self.key = key
        self.value = value
        self.headerCount = headerCount
        self.encodedHeaders = encodedHeaders
    }

    /// The headers. They were validated when the record was decoded, so
    /// iterating cannot fail.
    public var headers: RecordHeaders { RecordHeaders(count: headerCount, bytes: encodedHeaders) }
}

public struct RecordHeader {
    public var key: UnsafeRawBufferPointer
    /// nil is a null header value.
    public var value: UnsafeRawBufferPointer?
}

public struct RecordHeaders: Sequence {
    let count: Int
    let bytes: UnsafeRawBufferPointer

    public struct Iterator: IteratorProtocol {
        var cursor: ByteCursor
        var left: Int

        public mutating func next() -> RecordHeader? {
            guard left > 0 else { return nil }
            left -= 1
            // Validated by RecordIterator.decodeHeaders.
            let keyLength = try! cursor.readVarint()
            let key = try! cursor.readBytes(Int(keyLength), "header key")
            let valueLength = try! cursor.readVarint()
            let value = valueLength < 0 ? nil : try! cursor.readBytes(Int(valueLength), "header value")
            return RecordHeader(key: key, value: value)
        }
    }

    public func makeIterator() -> Iterator { Iterator(cursor: ByteCursor(bytes), left: count) }
}

/// Decodes the records of one batch (docs/FORMAT.md §1.3) with Kafka's
/// reader checks: each record's declared length matches what it holds, header
/// counts are sane, and nothing remains after the declared record count.
public struct RecordIterator {
    private var cursor: ByteCursor
    private var left: Int32
    private let baseOffset: Int64
    private let baseTimestamp: Int64
    private let logAppendTime: Int64?
    /// Keeps decompressed bytes alive while the iterator (and its records' views) are in use.
    private let storage: AnyObject?

    public init(records: UnsafeRawBufferPointer, header: RecordBatchHeader, storage: AnyObject? = nil) {
        self.storage = storage
        cursor = ByteCursor(records)
        left = header.recordsCount
        baseOffset = header.baseOffset
        baseTimestamp = header.baseTimestamp
        logAppendTime = header.timestampType == .logAppendTime ? header.maxTimestamp : nil
    }

    @inline(__always)
    public mutating func next() throws(FormatError) -> Record? {
        guard left > 0 else {
            guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes remain after the declared records") }
            return nil
        }
        left -= 1
        let length = try cursor.readVarint()
        guard length >= 0 else { throw .invalid("negative record length \(length)") }
        var body = ByteCursor(try cursor.readBytes(Int(length), "record"))
        let attributes = try body.readBigEndian(Int8.self, "record attributes")
        let timestampDelta = try body.readVarlong()
        let offsetDelta = try body.readVarint()
        let keyLength = try body.readVarint()
        let key = keyLength < 0 ? nil : try body.readBytes(Int(keyLength), "record key")
        let valueLength = try body.readVarint()
        let value = valueLength < 0 ? nil : try body.readBytes(Int(valueLength), "record value")
        let headerCount = try body.readVarint()
        guard headerCount >= 0, Int(headerCount) <= body.remaining else {
            throw .invalid("impossible header count \(headerCount)")
        }
        let headersStart = body.position
        for _ in 0..<headerCount {
            let hk = try body.readVarint()
            guard hk >= 0 else { throw .invalid("null header key") }
            try body.skip(Int(hk), "header key")
            let hv = try body.readVarint()
            if hv >= 0 { try body.skip(Int(hv), "header value") }
        }
        let headers = UnsafeRawBufferPointer(start: headersStart, count: body.position - headersStart)
        guard body.isAtEnd else { throw .invalid("record length \(length) does not match its contents") }
        return Record(
            offset: baseOffset &+ Int64(offsetDelta),
            timestamp: logAppendTime ?? baseTimestamp &+ timestampDelta,
            attributes: attributes, key: key, value: value,
            headerCount: Int(headerCount), encodedHeaders: headers)
    }
}

/// The messages of one legacy entry, which keep the decompressed bytes their
/// views point into alive (as `RecordIterator` does for a batch's records).
public struct LegacyMessages: RandomAccessCollection {
    public let messages: [LegacyMessage]
    let storage: AnyObject?

    public var startIndex: Int { messages.startIndex }
    public var endIndex: Int { messages.endIndex }
    public subscript(position: Int) -> LegacyMessage { messages[position] }
}

/// Turns a validated batch, or a compressed legacy wrapper, into its records,
/// decompressing every Kafka codec (gzip, snappy, lz4, zstd) into one reused
/// buffer; each codec's decoder is made on first use. One decoder per reading
/// thread; the views it returns are valid until its next call.
public final class BatchDecoder {
    /// Decompressed records of one batch may not exceed this (hostile input bound).
    public static let maxDecompressedSize = 128 << 20
    private lazy var gzip = GzipDecompressor()
    private lazy var snappy = SnappyDecompressor()
    private lazy var lz4 = LZ4Decompressor()
    private lazy var zstd = ZstdDecompressor()
    private let scratch = ByteBuffer(capacity: 1 << 16)

    public init() {}

    /// The records of `batch` (complete batch bytes, already CRC-checked).
    /// The iterator's views are valid until the next call.
    public func records(of batch: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(FormatError) -> RecordIterator {
        let area = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size...])
        switch header.compression {
        case .none?:
            return RecordIterator(records: area, header: header)
        case let codec?:
            try decompress(area, codec, what: "records")
            return RecordIterator(records: scratch.bytes, header: header, storage: scratch)
        case nil:
            throw .unsupportedCompression(header.attributes & 0x07)
        }
    }

    /// The messages a legacy entry stands for: itself when uncompressed, else
    /// the messages of its decompressed value with absolute offsets
    /// (`LegacyMessage.innerMessages(of:)`). Their views are valid until the next call.
    public func messages(of message: LegacyMessage) throws(FormatError) -> LegacyMessages {
        guard message.compression != .none else { return LegacyMessages(messages: [message], storage: nil) }
        guard let value = message.value else {
            throw .invalid("the \(message.compression.name)-compressed wrapper at offset \(message.offset) has a null value")
        }
        try decompress(value, message.compression, what: "messages", legacyMagicZero: message.magic == 0)
        return LegacyMessages(messages: try message.innerMessages(of: scratch.bytes), storage: scratch)
    }

    /// Decompresses `source` into the scratch buffer, replacing what it held.
    private func decompress(
        _ source: UnsafeRawBufferPointer, _ codec: CompressionCodec, what: String,
        legacyMagicZero: Bool = false
    ) throws(FormatError) {
        scratch.clear()
        scratch.shrink(toCapacity: 4 << 20)
        let limit = Self.maxDecompressedSize
        do {
            switch codec {
            case .none: preconditionFailure("uncompressed records are read in place")
            case .gzip: try gzip.decompress(source, appendingTo: scratch, limit: limit)
            case .snappy: try snappy.decompress(source, appendingTo: scratch, limit: limit)
            case .lz4: try lz4.decompress(source, appendingTo: scratch, limit: limit, ignoringHeaderChecksum: legacyMagicZero)
            case .zstd: try zstd.decompress(source, appendingTo: scratch, limit: limit)
            }
        } catch {
            throw .invalid("\(codec.name) \(what) do not decompress: \(error)")
        }
    }
}
