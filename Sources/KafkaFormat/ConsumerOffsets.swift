import SluiceCore

/// The records of Kafka's `__consumer_offsets` topic (docs/FORMAT.md §3).
///
/// A key is `int16 version` (the record type) followed by that type's fields;
/// a value is `int16 version` followed by the value's fields, or null (a
/// tombstone: the key is deleted). sluice writes OffsetCommitKey v1 with
/// OffsetCommitValue v3, as current brokers do, and reads every version a
/// broker may have written, so a real broker's offsets log reads too.
public enum ConsumerOffsetsKey: Equatable, Sendable {
    /// Key versions 0 and 1 (identical layouts): a committed offset.
    case offsetCommit(OffsetCommitKey)
    /// Key version 2: a classic group's metadata (members, generation); sluice skips its value.
    case groupMetadata(group: String)
    /// Key versions 3 and up: KIP-848 consumer-group and share-group records, recognised and skipped.
    case other(type: Int16)

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> ConsumerOffsetsKey {
        var cursor = ByteCursor(bytes)
        let version = try cursor.readBigEndian(Int16.self, "__consumer_offsets key version")
        let key: ConsumerOffsetsKey
        switch version {
        case 0, 1:
            let group = try cursor.readKafkaString("offset commit group")
            let topic = try cursor.readKafkaString("offset commit topic")
            let partition = try cursor.readBigEndian(Int32.self, "offset commit partition")
            key = .offsetCommit(OffsetCommitKey(group: group, topic: topic, partition: partition))
        case 2:
            key = .groupMetadata(group: try cursor.readKafkaString("group metadata group"))
        case 3...:
            return .other(type: version)
        default:
            throw .invalid("negative __consumer_offsets key version \(version)")
        }
        guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes follow a version \(version) __consumer_offsets key") }
        return key
    }
}

/// Who committed: the key of an offset commit record.
public struct OffsetCommitKey: Hashable, Sendable {
    public var group: String
    public var topic: String
    public var partition: Int32

    public init(group: String, topic: String, partition: Int32) {
        self.group = group
        self.topic = topic
        self.partition = partition
    }

    /// Appends the key at `version` 0 or 1 (the same layout; brokers write 1).
    public func encode(version: Int16 = 1, to out: ByteBuffer) {
        precondition(version == 0 || version == 1, "OffsetCommitKey has versions 0 and 1")
        out.appendBigEndian(version)
        out.appendKafkaString(group)
        out.appendKafkaString(topic)
        out.appendBigEndian(partition)
    }
}

/// What was committed: the value of an offset commit record.
public struct OffsetCommitValue: Equatable, Sendable {
    public var offset: Int64
    /// −1 when unknown (sluice has no leaders); versions 3 and up.
    public var leaderEpoch: Int32
    public var metadata: String
    public var commitTimestamp: Int64
    /// Version 1 only: when the broker would expire the offset.
    public var expireTimestamp: Int64?

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String = "", commitTimestamp: Int64, expireTimestamp: Int64? = nil) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.expireTimestamp = expireTimestamp
    }

    /// Decodes versions 0 to 4 (4 is the flexible encoding: compact string and tagged fields).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> OffsetCommitValue {
        var cursor = ByteCursor(bytes)
        let version = try cursor.readBigEndian(Int16.self, "offset commit value version")
        guard (0...4).contains(version) else { throw .invalid("unknown offset commit value version \(version)") }
        let offset = try cursor.readBigEndian(Int64.self, "committed offset")
        let leaderEpoch = version >= 3 ? try cursor.readBigEndian(Int32.self, "leader epoch") : -1
        let metadata = version >= 4 ? try cursor.readCompactKafkaString("commit metadata") : try cursor.readKafkaString("commit metadata")
        let commitTimestamp = try cursor.readBigEndian(Int64.self, "commit timestamp")
        let expireTimestamp = version == 1 ? try cursor.readBigEndian(Int64.self, "expire timestamp") : nil
        if version >= 4 { try cursor.skipTaggedFields() }
        guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes follow a version \(version) offset commit value") }
        return OffsetCommitValue(
            offset: offset, leaderEpoch: leaderEpoch, metadata: metadata,
            commitTimestamp: commitTimestamp, expireTimestamp: expireTimestamp)
    }

    /// Appends the value at `version` (sluice writes 3, as brokers do).
    public func encode(version: Int16 = 3, to out: ByteBuffer) {
        precondition((0...4).contains(version), "OffsetCommitValue has versions 0 to 4")
        out.appendBigEndian(version)
        out.appendBigEndian(offset)
        if version >= 3 { out.appendBigEndian(leaderEpoch) }
        if version >= 4 {
            var metadata = metadata
            metadata.withUTF8 {
                out.appendUnsignedVarint(UInt64($0.count + 1)); out.append(UnsafeRawBufferPointer($0))
            }
        } else {
            out.appendKafkaString(metadata)
        }
        out.appendBigEndian(commitTimestamp)
        if version == 1 { out.appendBigEndian(expireTimestamp ?? -1) }
        if version >= 4 { out.appendUnsignedVarint(0) }
    }
}

/// Which `__consumer_offsets` partition holds a group:
/// `Utils.abs(group.hashCode()) % partitions`, with Java's `String.hashCode`
/// over UTF-16 code units and `Utils.abs(Integer.MIN_VALUE) == 0`.
public enum ConsumerOffsetsPartitioner {
    /// Kafka's default `offsets.topic.num.partitions`.
    public static let defaultPartitionCount = 50

    public static func partition(forGroup group: String, partitionCount: Int = defaultPartitionCount) -> Int {
        let hash = javaHashCode(group)
        let positive = hash == Int32.min ? 0 : abs(hash)
        return Int(positive) % partitionCount
    }

    public static func javaHashCode(_ string: String) -> Int32 {
        var hash: Int32 = 0
        for unit in string.utf16 { hash = 31 &* hash &+ Int32(unit) }
        return hash
    }
}

/// The key of a control record (docs/FORMAT.md §1.6): `int16 version, int16 type`.
public enum ControlRecordType: Int16, Sendable {
    case abort = 0
    case commit = 1

    /// The type of a control record's key, nil for types other than transaction markers.
    public static func decode(_ key: UnsafeRawBufferPointer) -> ControlRecordType? {
        guard key.count >= 4 else { return nil }
        return ControlRecordType(rawValue: key.loadBigEndian(at: 2, as: Int16.self))
    }
}

extension ByteCursor {
    /// A non-flexible, non-null `string`: int16 length, then UTF-8.
    public mutating func readKafkaString(_ what: @autoclosure () -> String) throws(FormatError) -> String {
        let length = try readBigEndian(Int16.self, what())
        guard length >= 0 else { throw .invalid("null \(what())") }
        return try readUTF8(Int(length), what())
    }

    /// A flexible `compact string`: unsigned varint length + 1 (0 is null), then UTF-8.
    public mutating func readCompactKafkaString(_ what: @autoclosure () -> String) throws(FormatError) -> String {
        let lengthPlusOne = try readUnsignedVarint(maxBytes: 5)
        guard lengthPlusOne > 0 else { throw .invalid("null \(what())") }
        guard lengthPlusOne - 1 <= UInt64(remaining) else { throw .truncated(what()) }
        return try readUTF8(Int(lengthPlusOne - 1), what())
    }

    /// The tagged-field section of a flexible structure: a count, then for
    /// each field its tag, size and bytes. No tag matters to sluice.
    mutating func skipTaggedFields() throws(FormatError) {
        let count = try readUnsignedVarint(maxBytes: 5)
        guard count <= UInt64(remaining) else { throw .invalid("impossible tagged field count \(count)") }
        for _ in 0..<count {
            _ = try readUnsignedVarint(maxBytes: 5)
            let size = try readUnsignedVarint(maxBytes: 5)
            guard size <= UInt64(remaining) else { throw .truncated("tagged field") }
            try skip(Int(size), "tagged field")
        }
    }

    private mutating func readUTF8(_ count: Int, _ what: @autoclosure () -> String) throws(FormatError) -> String {
        let bytes = try readBytes(count, what())
        guard UTF8Validation.isValid(bytes) else { throw .invalid("\(what()) is not valid UTF-8") }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension ByteBuffer {
    /// A non-flexible `string`: int16 length, then UTF-8.
    public func appendKafkaString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            precondition(utf8.count <= Int(Int16.max), "a Kafka string holds at most 32767 bytes")
            appendBigEndian(Int16(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
        }
    }
}
