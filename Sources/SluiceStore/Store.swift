import SluiceCore

/// Where topics and groups live: the seam every operation is written against
/// (docs/ARCHITECTURE.md, "The store seam"). Two implementations: a local
/// data directory (`LocalStore` in SluiceLocal) and, next, a Kafka cluster
/// spoken to over the wire protocol.
///
/// Every call is batch-shaped: it covers many partitions or groups, so a
/// cluster answers it with one request per broker (or per group
/// coordinator), sent in parallel, and a local store with one pass over the
/// files. Calls block until answered, as franz-go's `kadm` calls do; the
/// concurrency is inside a call, not between the operation's steps, which
/// depend on each other (a seek's plan needs the offsets before it can
/// commit).
public typealias Store = TopicStore & GroupStore

/// Topics and their partitions' offsets.
public protocol TopicStore: AnyObject {
    /// Where the store is, for messages: "/var/lib/sluice", or a cluster's name.
    var location: String { get }

    /// Topic names, sorted; internal ones (`__…`) only when asked.
    /// Local: the topics' metadata files. Cluster: Metadata.
    func topicNames(includeInternal: Bool) throws -> [String]

    /// The partitions of each named topic that exists (absent: no such topic).
    /// Local: each topic's metadata file. Cluster: one Metadata request.
    func layouts(of topics: [String]) throws -> [String: TopicLayout]

    /// The error for a topic that does not exist, with close names suggested.
    func unknownTopic(_ name: String) -> SluiceError

    /// The named topics with a summary per partition, in order; an unknown
    /// topic is an error. Local: metadata and each partition's tail.
    /// Cluster: Metadata, DescribeConfigs and ListOffsets.
    func describeTopics(_ names: [String]) throws -> [TopicDescription]

    /// Creates a topic with `config` (`key=value` assignments); with
    /// `validateOnly` only checks that it could (Kafka's CreateTopics
    /// validate_only), so an operation can refuse bad input before it
    /// changes anything. Cluster: CreateTopics.
    @discardableResult
    func createTopic(_ name: String, partitions: Int, config: [String], validateOnly: Bool) throws -> TopicLayout

    /// Deletes a topic and its records. Cluster: DeleteTopics.
    func deleteTopic(_ name: String) throws

    /// Raises a topic's partition count. Cluster: CreatePartitions.
    func addPartitions(_ name: String, to count: Int) throws -> (old: Int, new: Int)

    /// Changes config entries (`key=value`) and returns every entry after the
    /// change. Cluster: IncrementalAlterConfigs.
    func alterConfig(_ name: String, assignments: [String]) throws -> [(String, String)]

    /// The log start and log end of each partition that can be read (absent:
    /// a partition that is gone, e.g. its directory was removed).
    /// Local: each partition's checkpoint and tail. Cluster: ListOffsets
    /// (earliest, latest) per leader.
    func offsetRanges(_ partitions: [TopicPartition]) throws -> [TopicPartition: OffsetRange]

    /// The error for a partition that `offsetRanges` could not answer for.
    func unavailable(_ partition: TopicPartition) -> SluiceError

    /// Per partition, the first offset whose record's timestamp is at or
    /// after the given time (absent: no such record; the log end is next).
    /// Local: the time indexes. Cluster: ListOffsets by timestamp per leader.
    func offsets(atOrAfter times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64]

    /// Per partition, the timestamps of the first records at or after the
    /// given offsets (absent: none there, the offset is at the end).
    /// Local: the offset index and one small read per batch. Cluster: a
    /// Fetch of a few bytes at each offset, per leader.
    func timestamps(at offsets: [TopicPartition: Set<Int64>]) throws -> [TopicPartition: [Int64: Int64]]
}

/// Consumer groups: their committed offsets, their history, and whether
/// consumers are running in them.
public protocol GroupStore: AnyObject {
    /// The committed offsets of the named groups (a group without any maps to [:]).
    /// Local: the offsets log's snapshot and tail. Cluster: OffsetFetch per coordinator.
    func committedOffsets(of groups: [String]) throws -> [String: [TopicPartition: CommittedOffset]]

    /// Every group's committed offsets. Cluster: ListGroups, then OffsetFetch.
    func allCommittedOffsets() throws -> [String: [TopicPartition: CommittedOffset]]

    /// Commits one change to a group's offsets atomically (all partitions or
    /// none), recording the annotations. Local: one batch in the offsets log.
    /// Cluster: one OffsetCommit, after sluice's journal records it.
    func commit(group: String, changes: [OffsetChange], annotations: CommitAnnotations) throws

    /// The group's recorded changes, oldest first. Local: the offsets log.
    /// Cluster: sluice's journal of the changes it made.
    func history(of group: String) throws -> GroupHistory

    /// Where history is kept, and for how long, for messages about its limits.
    var historyRetention: String { get }

    /// The groups among `groups` with consumers running. Local: a probe of each
    /// group lock. Cluster: DescribeGroups (state other than Empty or Dead).
    func activeGroups(_ groups: [String]) throws -> Set<String>

    /// Every group with consumers running, also those that committed nothing.
    func allActiveGroups() throws -> [String]

    /// The running members of each named group. Local: the member files.
    /// Cluster: DescribeGroups' members.
    func members(of groups: [String]) throws -> [String: [HolderInfo]]

    /// Who reads each partition of an active group (absent: nobody). Local:
    /// the lease files. Cluster: the members' assignments.
    func partitionHolders(of group: String, _ partitions: [TopicPartition]) throws -> [TopicPartition: HolderInfo]

    /// Keeps the group still while its offsets change: refuses an active
    /// group (exit 2, naming who keeps it active) unless `force`, waiting up
    /// to `waitMillis` for it to stop. Local: the group lock taken
    /// exclusively. Cluster: the group must be Empty, and `force` is refused.
    /// `holder` is who holds it, as members and `group describe` see it.
    func holdStill(_ group: String, force: Bool, waitMillis: Int64?, holder: HolderInfo) throws -> GroupHold

    /// The error for a group that has no committed offsets, with close names suggested.
    func unknownGroup(_ group: String) -> SluiceError
}

/// A group kept still (`GroupStore.holdStill`) until released.
public protocol GroupHold: AnyObject {
    /// Claims the partitions about to change, so no consumer starts on them
    /// before the commit. Local: their leases. Cluster: nothing more to take.
    func claim(_ partitions: [TopicPartition]) throws

    func release()
}

extension TopicStore {
    /// The topic's layout; an unknown topic is an error.
    public func layout(of topic: String) throws -> TopicLayout {
        guard let layout = try layouts(of: [topic])[topic] else { throw unknownTopic(topic) }
        return layout
    }
}

extension GroupStore {
    public func committedOffsets(of group: String) throws -> [TopicPartition: CommittedOffset] {
        try committedOffsets(of: [group])[group] ?? [:]
    }

    /// Holds the group still for this process as an administrator.
    public func holdStill(_ group: String, force: Bool, waitMillis: Int64?) throws -> GroupHold {
        try holdStill(group, force: force, waitMillis: waitMillis, holder: .administrator())
    }

    public func isActive(_ group: String) throws -> Bool {
        try activeGroups([group]).contains(group)
    }

    /// " (did you mean …?)" with the groups that have offsets and are named like `group`.
    public func closeGroups(to group: String) -> String {
        Suggestions.didYouMean(group, in: Array(((try? allCommittedOffsets()) ?? [:]).filter { !$0.value.isEmpty }.keys))
    }
}
