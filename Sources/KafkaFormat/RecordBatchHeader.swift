import SluiceCore

/// The codec in bits 0–2 of a batch's attributes (Kafka's `CompressionType`).
public enum CompressionCodec: Int16, Sendable, CaseIterable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    public var name: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }

    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = codec
    }
}

public enum TimestampType: Sendable, Equatable {
    case createTime, logAppendTime
}

/// The 61-byte header of a RecordBatch (magic 2), docs/FORMAT.md §1.1.
/// All integers big-endian; the CRC-32C at bytes 17..20 covers bytes 21..end.
public struct RecordBatchHeader: Sendable, Equatable {
    public static let size = 61
    /// baseOffset (8) + batchLength (4): the framing every log entry starts with.
    public static let logOverhead = 12
    public static let magicOffset = 16
    public static let crcOffset = 17
    public static let attributesOffset = 21
    public static let recordsCountOffset = 57
    /// Batches larger than this are refused as corrupt before any allocation.
    /// Kafka's own default limit (message.max.bytes) is 1 MiB.
    public static let maxSupportedSize = 256 << 20

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordsCount: Int32

    public init(
        baseOffset: Int64 = 0, batchLength: Int32 = 49, partitionLeaderEpoch: Int32 = 0, magic: Int8 = 2, crc: UInt32 = 0,
        attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = -1, maxTimestamp: Int64 = -1,
        producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1, recordsCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordsCount = recordsCount
    }

    /// Parses the header at `p`; the caller guarantees 61 readable bytes.
    @inline(__always)
    public init(_ p: UnsafeRawPointer) {
        baseOffset = p.loadBigEndian(at: 0)
        batchLength = p.loadBigEndian(at: 8)
        partitionLeaderEpoch = p.loadBigEndian(at: 12)
        magic = p.loadBigEndian(at: 16)
        crc = p.loadBigEndian(at: 17)
        attributes = p.loadBigEndian(at: 21)
        lastOffsetDelta = p.loadBigEndian(at: 23)
        baseTimestamp = p.loadBigEndian(at: 27)
        maxTimestamp = p.loadBigEndian(at: 35)
        producerId = p.loadBigEndian(at: 43)
        producerEpoch = p.loadBigEndian(at: 51)
        baseSequence = p.loadBigEndian(at: 53)
        recordsCount = p.loadBigEndian(at: 57)
    }

    /// Writes every field, including the stored CRC, at `p`.
    public func write(to p: UnsafeMutableRawPointer) {
        p.storeBigEndian(baseOffset, at: 0)
        p.storeBigEndian(batchLength, at: 8)
        p.storeBigEndian(partitionLeaderEpoch, at: 12)
        p.storeBigEndian(magic, at: 16)
        p.storeBigEndian(crc, at: 17)
        p.storeBigEndian(attributes, at: 21)
        p.storeBigEndian(lastOffsetDelta, at: 23)
        p.storeBigEndian(baseTimestamp, at: 27)
        p.storeBigEndian(maxTimestamp, at: 35)
        p.storeBigEndian(producerId, at: 43)
        p.storeBigEndian(producerEpoch, at: 51)
        p.storeBigEndian(baseSequence, at: 53)
        p.storeBigEndian(recordsCount, at: 57)
    }

    @inline(__always) public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    @inline(__always) public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    @inline(__always) public var nextOffset: Int64 { lastOffset + 1 }

    /// The codec, or nil for the invalid values 5–7.
    public var compression: CompressionCodec? { CompressionCodec(rawValue: attributes & 0x07) }
    public var timestampType: TimestampType { attributes & 0x08 != 0 ? .logAppendTime : .createTime }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var hasDeleteHorizon: Bool { attributes & 0x40 != 0 }

    /// Checks what can be checked without the records: sizes, magic, codec,
    /// count, offset range and the CRC over `batch` (the whole batch's bytes).
    public func validate(_ batch: UnsafeRawBufferPointer) throws(FormatError) {
        guard magic == 2 else { throw .unsupportedMagic(magic) }
        guard batchLength >= Int32(Self.size - Self.logOverhead), batch.count == totalSize else {
            throw .invalid("batch length \(batchLength) is impossible")
        }
        guard recordsCount >= 0 else { throw .invalid("negative record count \(recordsCount)") }
        guard lastOffsetDelta >= 0 else { throw .invalid("negative last offset delta \(lastOffsetDelta)") }
        // The base offset is outside the CRC: a damaged one must not pass as an offset, or overflow `nextOffset`.
        guard baseOffset >= 0, baseOffset < Int64.max - Int64(lastOffsetDelta) else {
            throw .invalid("base offset \(baseOffset) is outside the offset range")
        }
        guard compression != nil else { throw .invalid("invalid compression codec \(attributes & 0x07)") }
        let computed = CRC32C.checksum(batch.baseAddress! + Self.attributesOffset, count: batch.count - Self.attributesOffset)
        guard computed == crc else { throw .checksumMismatch(stored: crc, computed: computed) }
    }
}

/// What the bytes at a position in a `.log` hold: every entry starts with
/// `int64 offset, int32 size`, with the magic byte at 16 (docs/FORMAT.md §0).
public enum LogEntryFrame: Equatable, Sendable {
    /// A RecordBatch (magic 2) of this many bytes, all present.
    case batch(size: Int)
    /// A legacy message set entry (magic 0 or 1), all present.
    case legacy(size: Int, magic: Int8)
    /// The entry claims `size` bytes (or, when unknown, at least the header)
    /// but fewer are available.
    case incomplete(size: Int)
    /// The framing itself is impossible: a size below the minimum or above
    /// `RecordBatchHeader.maxSupportedSize`, or an unknown magic.
    case invalid(String)

    public static func inspect(_ bytes: UnsafeRawBufferPointer, at position: Int) -> LogEntryFrame {
        let available = bytes.count - position
        guard available >= RecordBatchHeader.magicOffset + 1 else {
            return .incomplete(size: RecordBatchHeader.size)
        }
        let p = bytes.baseAddress! + position
        let declared: Int32 = p.loadBigEndian(at: 8)
        let magic: Int8 = p.loadBigEndian(at: 16)
        let minimum: Int32
        switch magic {
        case 2: minimum = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead)
        case 1: minimum = 22
        case 0: minimum = 14
        default: return .invalid("unknown magic byte \(magic)")
        }
        guard declared >= minimum else { return .invalid("entry size \(declared) is below the minimum \(minimum)") }
        let size = Int(declared) + RecordBatchHeader.logOverhead
        guard size <= RecordBatchHeader.maxSupportedSize else {
            return .invalid("entry size \(declared) exceeds the \(RecordBatchHeader.maxSupportedSize)-byte limit")
        }
        guard available >= size else { return .incomplete(size: size) }
        return magic == 2 ? .batch(size: size) : .legacy(size: size, magic: magic)
    }
}
