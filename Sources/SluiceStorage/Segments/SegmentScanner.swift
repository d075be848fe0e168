import KafkaFormat
import SluiceCore
import SluiceSystem

/// A complete, CRC-valid batch found by a scan; `bytes` is valid until the
/// scanner's next call.
public struct ScannedBatch {
    public let position: Int64
    public let header: RecordBatchHeader
    public let bytes: UnsafeRawBufferPointer
}

/// A complete, CRC-valid legacy (magic 0/1) entry found by a scan, handed on
/// parsed since the scan must parse it to validate it. `bytes` and the
/// message's key and value are valid until the scanner's next call.
public struct ScannedLegacyMessage {
    public let position: Int64
    public let message: LegacyMessage
    public let bytes: UnsafeRawBufferPointer
}

/// Something at `position` that is not a valid entry.
public struct ScanProblem: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The entry claims more bytes than the file holds past `position`.
        case incomplete(declaredSize: Int, available: Int64)
        /// The framing (size, magic) is impossible.
        case invalidFrame(String)
        /// A complete entry whose header or CRC is wrong.
        case invalidEntry(FormatError)
    }

    public let position: Int64
    public let kind: Kind
    /// The base offset the entry claims, when its header could be read.
    public let claimedOffset: Int64?

    public var description: String {
        switch kind {
        case .incomplete(let declared, let available):
            return "incomplete entry at byte \(position): it declares \(declared) bytes but only \(available) follow"
        case .invalidFrame(let why):
            return "invalid entry at byte \(position): \(why)"
        case .invalidEntry(let error):
            return "invalid batch at byte \(position)\(claimedOffset.map { " (offset \($0))" } ?? ""): \(error)"
        }
    }
}

/// Walks the entries of one `.log` file from a position, reading it in large
/// chunks into one reused buffer and checking every entry's framing and CRC.
/// This is the only loop that parses segment bytes: readers, recovery, index
/// rebuilds and `verify` all use it, so they agree on what is valid.
public final class SegmentScanner {
    public enum Step {
        case batch(ScannedBatch)
        case legacy(ScannedLegacyMessage)
        case problem(ScanProblem)
        case end
    }

    public let file: File
    /// The file size the scan treats as its end (a snapshot: a writer may be appending).
    public let limit: Int64
    public private(set) var position: Int64
    private let buffer: ByteBuffer
    private let chunkSize: Int
    private var windowStart: Int64 = 0
    private let validateChecksums: Bool
    /// The size of the complete entry behind the last `.invalidEntry` problem.
    private var invalidEntrySize: Int?

    public init(
        file: File, limit: Int64, from position: Int64, buffer: ByteBuffer,
        chunkSize: Int = 1 << 20, validateChecksums: Bool = true
    ) {
        self.file = file
        self.limit = limit
        self.position = position
        self.buffer = buffer
        self.chunkSize = chunkSize
        self.validateChecksums = validateChecksums
        buffer.clear()
        windowStart = position
    }

    /// The next entry. After a `.problem` or `.end` the scanner stays put.
    public func next() throws -> Step {
        invalidEntrySize = nil
        if position >= limit { return .end }
        var frame = try inspect(minimum: RecordBatchHeader.magicOffset + 1)
        if case .incomplete(let size) = frame, position + Int64(size) <= limit {
            frame = try inspect(minimum: size)
        }
        switch frame {
        case .incomplete(let size):
            return .problem(
                ScanProblem(
                    position: position, kind: .incomplete(declaredSize: size, available: limit - position),
                    claimedOffset: claimedOffset()))
        case .invalid(let why):
            return .problem(ScanProblem(position: position, kind: .invalidFrame(why), claimedOffset: claimedOffset()))
        case .legacy(let size, _):
            let bytes = window(size)
            let message: LegacyMessage
            do {
                message = try LegacyMessage.parse(bytes)
            } catch {
                invalidEntrySize = size
                return .problem(ScanProblem(position: position, kind: .invalidEntry(error), claimedOffset: claimedOffset()))
            }
            let step = Step.legacy(ScannedLegacyMessage(position: position, message: message, bytes: bytes))
            position += Int64(size)
            return step
        case .batch(let size):
            let bytes = window(size)
            let header = RecordBatchHeader(bytes.baseAddress!)
            if validateChecksums {
                do {
                    try header.validate(bytes)
                } catch {
                    invalidEntrySize = size
                    return .problem(ScanProblem(position: position, kind: .invalidEntry(error), claimedOffset: header.baseOffset))
                }
            }
            let step = Step.batch(ScannedBatch(position: position, header: header, bytes: bytes))
            position += Int64(size)
            return step
        }
    }

    /// After a problem with a complete but invalid entry (bad CRC or header),
    /// steps over it so a caller listing every problem (`verify`, `dump`) can go
    /// on. Returns false when the problem's extent is unknown (bad framing).
    public func skipInvalidEntry() -> Bool {
        guard let size = invalidEntrySize else { return false }
        position += Int64(size)
        invalidEntrySize = nil
        return true
    }

    /// Frames the entry at `position`, first making sure `minimum` bytes of it
    /// (or all that the file has) are in the buffer.
    private func inspect(minimum: Int) throws -> LogEntryFrame {
        let offsetInWindow = Int(position - windowStart)
        if offsetInWindow + minimum > buffer.count, windowStart + Int64(buffer.count) < limit {
            try refill(atLeast: minimum)
        }
        return LogEntryFrame.inspect(window(Int(min(Int64(buffer.count) - (position - windowStart), limit - position))), at: 0)
    }

    private func window(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.base + Int(position - windowStart), count: count)
    }

    /// Reloads the buffer to start at `position` with at least `needed` bytes
    /// (or up to the limit), reading a full chunk where possible.
    private func refill(atLeast needed: Int) throws {
        let want = Int(min(Int64(max(needed, chunkSize)), limit - position))
        buffer.clear()
        buffer.reserve(want)
        let n = try file.readFully(into: UnsafeMutableRawBufferPointer(start: buffer.base, count: want), at: position)
        buffer.count = n
        windowStart = position
    }

    private func claimedOffset() -> Int64? {
        let available = Int64(buffer.count) - (position - windowStart)
        guard available >= 8 else { return nil }
        return window(8).loadBigEndian(at: 0, as: Int64.self)
    }

    /// Whether every byte from `start` to the limit is zero: what a crash
    /// leaves when a file's size was extended but its data never reached disk.
    public func restIsZeros(from start: Int64, maxBytes: Int64 = 64 << 20) throws -> Bool {
        guard limit - start <= maxBytes else { return false }
        let scratch = ByteBuffer(capacity: 1 << 16)
        var at = start
        while at < limit {
            let n = try file.readFully(
                into: UnsafeMutableRawBufferPointer(start: scratch.base, count: Int(min(Int64(scratch.capacity), limit - at))), at: at)
            if n == 0 { break }
            for i in 0..<n where scratch.base.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
            at += Int64(n)
        }
        return true
    }

    /// Whether the bytes from `start` to the limit are one whole v2 batch
    /// whose length field alone is damaged: the CRC it stores matches them.
    /// A write cut short leaves a prefix of a batch, whose CRC matches its
    /// stored one with odds of one in 2^32.
    public func isWholeBatchWithDamagedLength(at start: Int64, maxBytes: Int64 = 64 << 20) throws -> Bool {
        let available = limit - start
        guard available >= Int64(RecordBatchHeader.size), available <= maxBytes else { return false }
        let bytes = ByteBuffer(capacity: Int(available))
        let n = try file.readFully(into: UnsafeMutableRawBufferPointer(start: bytes.base, count: Int(available)), at: start)
        let batch = UnsafeRawPointer(bytes.base)
        guard n == Int(available), batch.load(fromByteOffset: RecordBatchHeader.magicOffset, as: UInt8.self) == 2 else { return false }
        let stored = batch.loadBigEndian(at: RecordBatchHeader.crcOffset, as: UInt32.self)
        return CRC32C.checksum(batch + RecordBatchHeader.attributesOffset, count: n - RecordBatchHeader.attributesOffset) == stored
    }
}

extension ScanProblem {
    /// Whether this problem looks like the torn end of an interrupted write,
    /// which recovery may cut off, rather than damage, which it must never
    /// silently drop: the entry runs past the end of the file (a write cut
    /// short), or everything from it on is zeros (a file extended whose data
    /// never reached the disk). An entry that is all there but fails its CRC is
    /// damage even when it is the last: a killed writer cannot leave one (its
    /// bytes reach the file in order, so a cut write is short), and its offsets
    /// may have been acknowledged, so cutting it would hand them out again. So
    /// is a whole batch whose length field was damaged to run past the end.
    public func isTornTail(scanner: SegmentScanner) throws -> Bool {
        switch kind {
        case .incomplete:
            return try !scanner.isWholeBatchWithDamagedLength(at: position)
        case .invalidEntry, .invalidFrame:
            return try scanner.restIsZeros(from: position)
        }
    }
}
