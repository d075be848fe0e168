import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore

/// The latest committed offsets held by one `__consumer_offsets` partition,
/// and the offsets-log position they are complete up to. "The latest record
/// per key is the state": `apply` folds commit events in log order.
public final class OffsetsState {
    /// Commits kept per partition for rates, statuses and sparklines.
    public static let sampleLimit = 10

    public internal(set) var groups: [String: [TopicPartition: CommittedOffset]] = [:]
    /// The next offsets-log offset to apply: everything before it is folded in.
    public internal(set) var covers: Int64
    /// The last batch folded in, to recognise the log a snapshot was taken from.
    var lastBatch: BatchMark?
    var pending: PendingTransactions = [:]
    /// The id of the offsets topic the state was read from.
    let topicID: String

    init(covers: Int64, topicID: String) {
        self.covers = covers
        self.topicID = topicID
    }

    func apply(_ event: CommitEvent) {
        let key = event.topicPartition
        guard let value = event.value else {
            groups[event.group]?[key] = nil
            if groups[event.group]?.isEmpty == true { groups[event.group] = nil }
            return
        }
        let existing = groups[event.group]?[key]
        if event.annotations.operation == .retain, var existing, existing.offset == value.offset {
            existing.logOffset = event.logOffset
            groups[event.group]![key] = existing
            return
        }
        var samples = existing?.samples ?? []
        if samples.count >= Self.sampleLimit { samples.removeFirst(samples.count - Self.sampleLimit + 1) }
        samples.append(
            CommitSample(
                time: value.commitTimestamp, offset: value.offset, logEndOffset: event.annotations.logEndOffset ?? -1,
                byConsumer: !event.annotations.operation.isAdministrative))
        groups[event.group, default: [:]][key] = CommittedOffset(
            offset: value.offset, metadata: value.metadata, commitTimestamp: value.commitTimestamp,
            leaderEpoch: value.leaderEpoch, logOffset: event.logOffset, samples: samples)
    }

    var entryCount: Int { groups.values.reduce(0) { $0 + $1.count } }
}

/// The snapshot of an `OffsetsState`, so reading the committed offsets costs
/// the state's size plus the log written since, not the whole history.
/// Stored at `.sluice/groups/state/__consumer_offsets-<N>.snapshot`,
/// replaced atomically; a cache that can always be rebuilt from the log.
///
///     "SLUICEOS"          8-byte magic
///     int16  version      2 (1: samples without their by-consumer byte, all by consumers)
///     int64  covers       the next offsets-log offset the state includes
///     int64  batch base   base offset of the last batch included (−1: none)
///     uint32 batch crc    that batch's CRC: if the log no longer has it, the snapshot is discarded
///     string topic id     the offsets topic's id
///     int32  groups, then per group:
///       string group, int32 entries, then per entry:
///         string topic, int32 partition, int64 offset, int32 leader epoch, string metadata,
///         int64 commit timestamp, int64 log offset, int8 samples,
///         samples × (int64 time, int64 offset, int64 log-end offset, int8 by consumer (0 or 1))
///     uint32 CRC-32C of every byte before it
///
/// Integers are big-endian; strings are Kafka's (int16 length, UTF-8).
enum OffsetsSnapshot {
    static let magic: [UInt8] = Array("SLUICEOS".utf8)
    static let version: Int16 = 2

    static func encode(_ state: OffsetsState) -> [UInt8] {
        let out = ByteBuffer(capacity: 64 + state.entryCount * 160)
        out.append(magic)
        out.appendBigEndian(version)
        out.appendBigEndian(state.covers)
        out.appendBigEndian(state.lastBatch?.baseOffset ?? -1)
        out.appendBigEndian(state.lastBatch?.crc ?? 0)
        out.appendKafkaString(state.topicID)
        out.appendBigEndian(Int32(state.groups.count))
        for group in state.groups.keys.sorted() {
            let entries = state.groups[group]!
            out.appendKafkaString(group)
            out.appendBigEndian(Int32(entries.count))
            for key in entries.keys.sorted() {
                let entry = entries[key]!
                out.appendKafkaString(key.topic)
                out.appendBigEndian(Int32(key.partition))
                out.appendBigEndian(entry.offset)
                out.appendBigEndian(entry.leaderEpoch)
                out.appendKafkaString(entry.metadata)
                out.appendBigEndian(entry.commitTimestamp)
                out.appendBigEndian(entry.logOffset)
                out.appendBigEndian(Int8(entry.samples.count))
                for sample in entry.samples {
                    out.appendBigEndian(sample.time)
                    out.appendBigEndian(sample.offset)
                    out.appendBigEndian(sample.logEndOffset)
                    out.appendBigEndian(Int8(sample.byConsumer ? 1 : 0))
                }
            }
        }
        out.appendBigEndian(CRC32C.checksum(out.bytes))
        return out.array
    }

    static func decode(_ bytes: [UInt8]) throws -> OffsetsState {
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> OffsetsState in
            guard raw.count >= magic.count + 4, raw.prefix(magic.count).elementsEqual(magic) else {
                throw FormatError.invalid("not a sluice offsets snapshot")
            }
            let body = UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 4)])
            let stored = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self))
            let computed = CRC32C.checksum(body)
            guard computed == stored else { throw FormatError.checksumMismatch(stored: stored, computed: computed) }
            var reader = SnapshotReader(UnsafeRawBufferPointer(rebasing: body[magic.count...]))
            let version = try reader.int16()
            guard version == 1 || version == Self.version else {
                throw FormatError.invalid("snapshot version \(version) is not \(Self.version)")
            }
            let covers = try reader.int64()
            let batchBase = try reader.int64()
            let batchCRC = UInt32(bitPattern: try reader.int32())
            let state = OffsetsState(covers: covers, topicID: try reader.string())
            state.lastBatch = batchBase >= 0 ? BatchMark(baseOffset: batchBase, crc: batchCRC) : nil
            for _ in 0..<(try reader.count()) {
                let group = try reader.string()
                let entryCount = try reader.count()
                var entries: [TopicPartition: CommittedOffset] = [:]
                entries.reserveCapacity(entryCount)
                var topic = ""
                for _ in 0..<entryCount {
                    topic = try reader.string(reusing: topic)
                    let partition = Int(try reader.int32())
                    let offset = try reader.int64(), leaderEpoch = try reader.int32(), metadata = try reader.string()
                    let commitTimestamp = try reader.int64(), logOffset = try reader.int64()
                    let sampleCount = Int(try reader.int8())
                    guard (0...OffsetsState.sampleLimit).contains(sampleCount) else {
                        throw FormatError.invalid("impossible sample count \(sampleCount)")
                    }
                    var samples: [CommitSample] = []
                    samples.reserveCapacity(sampleCount)
                    for _ in 0..<sampleCount {
                        samples.append(
                            CommitSample(
                                time: try reader.int64(), offset: try reader.int64(), logEndOffset: try reader.int64(),
                                byConsumer: try version == 1 || reader.int8() != 0))
                    }
                    entries[TopicPartition(topic, partition)] = CommittedOffset(
                        offset: offset, metadata: metadata, commitTimestamp: commitTimestamp, leaderEpoch: leaderEpoch,
                        logOffset: logOffset, samples: samples)
                }
                state.groups[group] = entries
            }
            guard reader.isAtEnd else { throw FormatError.invalid("bytes follow the snapshot's entries") }
            return state
        }
    }
}

/// Reads a snapshot's big-endian fields. Every read checks the end, so a
/// damaged snapshot can only fail to decode.
struct SnapshotReader {
    private let bytes: UnsafeRawBufferPointer
    private var at = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { at == bytes.count }

    private mutating func take(_ n: Int) throws(FormatError) -> Int {
        guard n >= 0, bytes.count - at >= n else { throw .truncated("snapshot") }
        defer { at += n }
        return at
    }

    mutating func int8() throws(FormatError) -> Int8 { Int8(bitPattern: bytes[try take(1)]) }
    mutating func int16() throws(FormatError) -> Int16 {
        Int16(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(2), as: Int16.self))
    }
    mutating func int32() throws(FormatError) -> Int32 {
        Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: Int32.self))
    }
    mutating func int64() throws(FormatError) -> Int64 {
        Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: Int64.self))
    }

    /// A non-negative int32 count that cannot exceed the bytes left (each item takes at least one).
    mutating func count() throws(FormatError) -> Int {
        let count = try int32()
        guard count >= 0, Int(count) <= bytes.count - at else { throw .invalid("impossible count \(count)") }
        return Int(count)
    }

    /// A Kafka string (int16 length, UTF-8); `previous` is returned without allocating when the bytes are its.
    mutating func string(reusing previous: String = "") throws(FormatError) -> String {
        let length = Int(try int16())
        let start = try take(length)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
        if length == previous.utf8.count && previous.utf8.elementsEqual(raw) { return previous }
        guard UTF8Validation.isValid(raw) else { throw .invalid("a snapshot string is not UTF-8") }
        return String(decoding: raw, as: UTF8.self)
    }
}
