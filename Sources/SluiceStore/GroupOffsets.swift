import KafkaFormat
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

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

    public init(
        operation: CommitOperation, operationID: String? = nil, member: String? = nil, previousOffset: Int64? = nil,
        logEndOffset: Int64? = nil, detail: String? = nil
    ) {
        self.operation = operation
        self.operationID = operationID
        self.member = member
        self.previousOffset = previousOffset
        self.logEndOffset = logEndOffset
        self.detail = detail
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
    package var commitTimestamp: Int64?

    public init(
        _ topicPartition: TopicPartition, offset: Int64?, metadata: String = "", previousOffset: Int64? = nil, logEndOffset: Int64? = nil
    ) {
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

    public init(
        logOffset: Int64, timestamp: Int64, group: String, topicPartition: TopicPartition, value: OffsetCommitValue?,
        annotations: CommitAnnotations
    ) {
        self.logOffset = logOffset
        self.timestamp = timestamp
        self.group = group
        self.topicPartition = topicPartition
        self.value = value
        self.annotations = annotations
    }
}

/// One commit of a partition, as kept for trends: when, which offset, the
/// partition's log-end offset at that moment (−1 when the committer did not
/// record it, as Kafka's clients do not), and whether a consumer made it (an
/// offset moved by `group seek` or `rollback` is no consumption: rates and
/// trends start again after it).
public struct CommitSample: Equatable, Sendable {
    public var time: Int64
    public var offset: Int64
    public var logEndOffset: Int64
    public var byConsumer: Bool

    public init(time: Int64, offset: Int64, logEndOffset: Int64, byConsumer: Bool = true) {
        self.time = time
        self.offset = offset
        self.logEndOffset = logEndOffset
        self.byConsumer = byConsumer
    }
}

/// The committed offset of one (group, topic, partition): the latest commit
/// record for that key, plus its last few commits for rates and trends.
public struct CommittedOffset: Equatable, Sendable {
    public var offset: Int64
    public var metadata: String
    public var commitTimestamp: Int64
    public var leaderEpoch: Int32
    /// Where the commit record is in the offsets log.
    public var logOffset: Int64
    /// The last `OffsetsState.sampleLimit` commits, oldest first; the last is this one.
    public var samples: [CommitSample]

    public init(offset: Int64, metadata: String, commitTimestamp: Int64, leaderEpoch: Int32, logOffset: Int64, samples: [CommitSample]) {
        self.offset = offset
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.leaderEpoch = leaderEpoch
        self.logOffset = logOffset
        self.samples = samples
    }
}

/// A group's commit records still in the offsets log.
public struct GroupHistory: Sendable {
    public var events: [CommitEvent]
    /// When the log was cut by history retention: the time of its oldest remaining record.
    public var keptSince: Int64?

    public init(events: [CommitEvent], keptSince: Int64?) {
        self.events = events
        self.keptSince = keptSince
    }
}

extension SluiceError.Reason {
    public static let unknownGroup = Self("unknown-group")
    public static let groupActive = Self("group-active")
}
