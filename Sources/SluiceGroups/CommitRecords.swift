import KafkaFormat
import SluiceCore
import SluiceStorage

/// A topic partition as consumer groups name it.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int

    public init(_ topic: String, _ partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }

    public var description: String { "\(topic)-\(partition)" }
}

/// What kind of change a commit record made. sluice writes it in the
/// `sluice.op` header; records without one (a Kafka broker's) are commits,
/// or deletions when their value is null.
public enum CommitOperation: String, Sendable, CaseIterable {
    /// A consumer committed what it had delivered.
    case commit
    /// `group seek --execute` moved the offset.
    case seek
    /// `group rollback --execute` restored an earlier offset.
    case rollback
    /// `group delete` removed the offset (a tombstone).
    case delete
    /// History retention carried the latest state forward before removing
    /// old segments; not a change.
    case retain

    /// Changes made by a person rather than a consumer (what `rollback --steps` counts).
    public var isAdministrative: Bool { self == .seek || self == .rollback || self == .delete }
}

/// sluice's annotations on a commit record, in record headers that Kafka's
/// tools ignore:
///
///     sluice.op               commit | seek | rollback | delete | retain
///     sluice.op-id            one id shared by every record of one change
///     sluice.member           the consumer member id, or "admin-<host>-<pid>"
///     sluice.previous-offset  the committed offset before this change (absent: none)
///     sluice.log-end          the partition's log-end offset when committed
///     sluice.detail           what the change was, e.g. "--to-datetime 2024-05-01T00:00:00Z"
public struct CommitAnnotations: Equatable, Sendable {
    public var operation: CommitOperation
    public var operationID: String?
    public var member: String?
    public var previousOffset: Int64?
    public var logEndOffset: Int64?
    public var detail: String?

    public init(operation: CommitOperation, operationID: String? = nil, member: String? = nil, previousOffset: Int64? = nil,
                logEndOffset: Int64? = nil, detail: String? = nil) {
        self.operation = operation
        self.operationID = operationID
        self.member = member
        self.previousOffset = previousOffset
        self.logEndOffset = logEndOffset
        self.detail = detail
    }

    static let opHeader = "sluice.op", opIDHeader = "sluice.op-id", memberHeader = "sluice.member"
    static let previousHeader = "sluice.previous-offset", logEndHeader = "sluice.log-end", detailHeader = "sluice.detail"

    /// Appends the headers (entries, without the count) and returns how many.
    func encode(to out: ByteBuffer) -> Int {
        var entries: [(String, String)] = [(Self.opHeader, operation.rawValue)]
        if let operationID { entries.append((Self.opIDHeader, operationID)) }
        if let member { entries.append((Self.memberHeader, member)) }
        if let previousOffset { entries.append((Self.previousHeader, String(previousOffset))) }
        if let logEndOffset { entries.append((Self.logEndHeader, String(logEndOffset))) }
        if let detail { entries.append((Self.detailHeader, detail)) }
        for (key, value) in entries { HeaderEncoding.appendEntry(key: key, value: value, to: out) }
        return entries.count
    }

    /// Reads the annotations of a record; unknown headers are ignored.
    static func decode(_ headers: RecordHeaders, isTombstone: Bool) -> CommitAnnotations {
        var annotations = CommitAnnotations(operation: isTombstone ? .delete : .commit)
        for header in headers {
            guard let raw = header.value, UTF8Validation.isValid(raw) else { continue }
            let value = String(decoding: raw, as: UTF8.self)
            switch String(decoding: header.key, as: UTF8.self) {
            case opHeader: if let op = CommitOperation(rawValue: value) { annotations.operation = op }
            case opIDHeader: annotations.operationID = value
            case memberHeader: annotations.member = value
            case previousHeader: annotations.previousOffset = Int64(value)
            case logEndHeader: annotations.logEndOffset = Int64(value)
            case detailHeader: annotations.detail = value
            default: break
            }
        }
        return annotations
    }
}

/// One change to commit: a new offset for a partition, or its deletion.
public struct OffsetChange: Equatable, Sendable {
    public var topicPartition: TopicPartition
    /// nil deletes the committed offset (a tombstone).
    public var offset: Int64?
    public var metadata: String
    public var previousOffset: Int64?
    public var logEndOffset: Int64?
    /// The commit timestamp to record; nil records the time of the commit.
    var commitTimestamp: Int64?

    public init(_ topicPartition: TopicPartition, offset: Int64?, metadata: String = "", previousOffset: Int64? = nil, logEndOffset: Int64? = nil) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.metadata = metadata
        self.previousOffset = previousOffset
        self.logEndOffset = logEndOffset
    }
}

/// One offset commit record read back from the offsets log.
public struct CommitEvent: Sendable {
    /// Where the record is in the offsets log.
    public var logOffset: Int64
    /// The record's timestamp: when it was appended.
    public var timestamp: Int64
    public var group: String
    public var topicPartition: TopicPartition
    /// nil for a tombstone.
    public var value: OffsetCommitValue?
    public var annotations: CommitAnnotations
}

/// Encodes one change as one record batch: the unit that is all-or-nothing
/// on disk. Records are (group, change) pairs; a commit holds one group's,
/// history retention may carry several groups' in one batch.
enum CommitBatch {
    /// Metadata strings are limited so every record stays small.
    static let maxMetadataBytes = 4096

    static func encode(_ records: [(group: String, change: OffsetChange)], annotations: CommitAnnotations, now: Int64) throws -> ByteBuffer {
        precondition(!records.isEmpty, "a commit changes at least one partition")
        let builder = RecordBatchBuilder()
        let key = ByteBuffer(capacity: 256), value = ByteBuffer(capacity: 256), headers = ByteBuffer(capacity: 256)
        for (group, change) in records {
            key.clear()
            value.clear()
            headers.clear()
            OffsetCommitKey(group: group, topic: change.topicPartition.topic, partition: Int32(change.topicPartition.partition)).encode(to: key)
            if let offset = change.offset {
                OffsetCommitValue(offset: offset, metadata: change.metadata, commitTimestamp: change.commitTimestamp ?? now).encode(to: value)
            }
            var annotated = annotations
            annotated.previousOffset = change.previousOffset
            annotated.logEndOffset = change.logEndOffset
            let count = annotated.encode(to: headers)
            builder.append(timestamp: now, key: key.bytes, value: change.offset == nil ? nil : value.bytes,
                           headerCount: count, encodedHeaders: headers.bytes)
        }
        let out = ByteBuffer(capacity: 1024)
        try builder.finish(baseOffset: 0, into: out)
        return out
    }

    static func validateMetadata(_ metadata: String) throws {
        guard metadata.utf8.count <= maxMetadataBytes else {
            throw SluiceError.usage(.invalidArgument, "commit metadata is \(metadata.utf8.count) bytes; at most \(maxMetadataBytes) are allowed")
        }
    }
}

/// A random id for one change (16 hex digits).
func newOperationID() -> String {
    GroupName.hex(UInt64.random(in: 0...UInt64.max), digits: 16).lowercased()
}
