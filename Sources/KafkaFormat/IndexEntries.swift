import SluiceCore

/// An `.index` entry (docs/FORMAT.md §2.2): the offset of a batch relative to
/// the segment's base offset (Kafka stores the batch's *last* offset), and the
/// byte position of that batch in the `.log`. 8 bytes, big-endian.
public struct OffsetIndexEntry: Equatable, Sendable {
    public static let size = 8
    public var relativeOffset: Int32
    public var position: Int32

    public init(relativeOffset: Int32, position: Int32) {
        self.relativeOffset = relativeOffset
        self.position = position
    }

    @inline(__always)
    public init(_ p: UnsafeRawPointer) {
        relativeOffset = p.loadBigEndian(at: 0)
        position = p.loadBigEndian(at: 4)
    }

    public func append(to out: ByteBuffer) {
        out.appendBigEndian(relativeOffset)
        out.appendBigEndian(position)
    }
}

/// A `.timeindex` entry (docs/FORMAT.md §2.3): a timestamp and the relative offset from which
/// a reader looking for that time should start. 12 bytes, big-endian.
public struct TimeIndexEntry: Equatable, Sendable {
    public static let size = 12
    public var timestamp: Int64
    public var relativeOffset: Int32

    public init(timestamp: Int64, relativeOffset: Int32) {
        self.timestamp = timestamp
        self.relativeOffset = relativeOffset
    }

    @inline(__always)
    public init(_ p: UnsafeRawPointer) {
        timestamp = p.loadBigEndian(at: 0)
        relativeOffset = p.loadBigEndian(at: 8)
    }

    public func append(to out: ByteBuffer) {
        out.appendBigEndian(timestamp)
        out.appendBigEndian(relativeOffset)
    }
}

/// Kafka's file naming: a segment's files are named by its base offset as 20
/// zero-padded digits (`00000000000000012345.log`).
public enum SegmentFileName {
    public static let logSuffix = ".log"
    public static let indexSuffix = ".index"
    public static let timeIndexSuffix = ".timeindex"

    public static func baseName(_ baseOffset: Int64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The base offset of a file named `<20 digits><suffix>`, nil for anything else.
    public static func baseOffset(of name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(stem)
    }
}
