import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore

/// A local data directory as a `Store`: topics are its topic metadata and
/// partition directories, committed offsets its offsets log
/// (`__consumer_offsets`, read through `OffsetsStore`), and a group's
/// activity its lock files (`GroupDirectory`). Each call reads the files
/// afresh, so a long-running command (`lag --watch`) sees every change.
///
/// What only makes sense on files — verify, dump, repair, staged imports,
/// flock-based membership — is not part of the seam: it takes the
/// `directory` itself.
public final class LocalStore: Store {
    public let directory: DataDirectory
    /// The partitions the last `offsetRanges` opened, for the lookup that
    /// follows it in one report (lag asks for ranges, then for timestamps at
    /// the committed offsets; a seek by time for ranges, then for offsets at a
    /// time): each partition's segments and tail are read once per report.
    /// Taken by that lookup, so no later call sees them.
    private var openedForRanges: [TopicPartition: PartitionTimestamps] = [:]

    public init(_ directory: DataDirectory) {
        self.directory = directory
    }

    public var location: String { directory.path }

    private var offsetsLog: OffsetsStore { OffsetsStore(directory: directory) }

    // MARK: - topics

    public func topicNames(includeInternal: Bool) throws -> [String] {
        try directory.topicNames(includeInternal: includeInternal)
    }

    public func layouts(of topics: [String]) throws -> [String: TopicLayout] {
        var layouts: [String: TopicLayout] = [:]
        for name in Set(topics) {
            if let topic = try directory.existingTopic(name) { layouts[name] = topic.layout }
        }
        return layouts
    }

    public func unknownTopic(_ name: String) -> SluiceError {
        directory.unknownTopic(name)
    }

    public func describeTopics(_ names: [String]) throws -> [TopicDescription] {
        try names.map { name in
            let topic = try directory.topic(name)
            return TopicDescription(
                name: topic.name, id: topic.metadata.id, partitionCount: topic.partitionCount, config: topic.config.entries,
                partitions: try topic.partitions().map { try $0.summary() })
        }
    }

    public func createTopic(_ name: String, partitions: Int, config assignments: [String], validateOnly: Bool) throws -> TopicLayout {
        var config = TopicConfig()
        try config.apply(assignments: assignments)
        guard !validateOnly else {
            try DataDirectory.validatePartitionCount(partitions)
            return TopicLayout(name: name, partitions: Array(0..<partitions), partitionCount: partitions)
        }
        return try directory.createTopic(name, partitions: partitions, config: config).layout
    }

    public func deleteTopic(_ name: String) throws {
        try directory.deleteTopic(name)
    }

    public func addPartitions(_ name: String, to count: Int) throws -> (old: Int, new: Int) {
        try directory.addPartitions(name, to: count)
    }

    public func alterConfig(_ name: String, assignments: [String]) throws -> [(String, String)] {
        try directory.alterConfig(name, assignments: assignments).entries
    }

    public func offsetRanges(_ partitions: [TopicPartition]) throws -> [TopicPartition: OffsetRange] {
        openedForRanges = try open(partitions)
        return openedForRanges.mapValues { OffsetRange(start: $0.start, end: $0.end) }
    }

    public func unavailable(_ partition: TopicPartition) -> SluiceError {
        .failure(.partitionMissing, "partition \(partition) has no directory", remedy: "run 'sluice verify \(partition.topic)'")
    }

    public func offsets(atOrAfter times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        var found: [TopicPartition: Int64] = [:]
        for (key, opened) in try reopen(Array(times.keys)) {
            found[key] = try opened.partition.offset(forTimestamp: times[key]!)
        }
        return found
    }

    public func timestamps(at offsets: [TopicPartition: Set<Int64>]) throws -> [TopicPartition: [Int64: Int64]] {
        try reopen(Array(offsets.keys)).reduce(into: [:]) { found, entry in
            found[entry.key] = try entry.value.timestamps(at: offsets[entry.key]!)
        }
    }

    /// `open`, taking the partitions the last `offsetRanges` opened instead of
    /// opening them again.
    private func reopen(_ keys: [TopicPartition]) throws -> [TopicPartition: PartitionTimestamps] {
        let reused = openedForRanges
        openedForRanges = [:]
        let wanted = Set(keys)
        var opened = reused.filter { wanted.contains($0.key) }
        opened.merge(try open(keys.filter { reused[$0] == nil })) { kept, _ in kept }
        return opened
    }

    /// The partitions that can be read, each opened once (its segments and
    /// tail), sharing one set of read buffers; absent: its topic or
    /// partition does not exist, or its directory is gone.
    private func open(_ keys: [TopicPartition]) throws -> [TopicPartition: PartitionTimestamps] {
        let scratch = ReadScratch()
        var topics: [String: Topic?] = [:]
        var opened: [TopicPartition: PartitionTimestamps] = [:]
        for key in Set(keys) {
            if topics[key.topic] == nil { topics[key.topic] = .some(try directory.existingTopic(key.topic)) }
            guard let topic = topics[key.topic]!, topic.partitionIndices.contains(key.partition) else { continue }
            do {
                opened[key] = try PartitionTimestamps(try topic.partition(key.partition), scratch: scratch)
            } catch let error as SluiceError where error.reason == .partitionMissing {
                continue
            }
        }
        return opened
    }

    // MARK: - groups

    public func committedOffsets(of groups: [String]) throws -> [String: [TopicPartition: CommittedOffset]] {
        let log = offsetsLog
        var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
        for group in groups { offsets[group] = try log.offsets(of: group) }
        return offsets
    }

    public func allCommittedOffsets() throws -> [String: [TopicPartition: CommittedOffset]] {
        try offsetsLog.allOffsets()
    }

    public func commit(group: String, changes: [OffsetChange], annotations: CommitAnnotations) throws {
        try offsetsLog.commit(group: group, changes: changes, annotations: annotations)
    }

    public func history(of group: String) throws -> GroupHistory {
        try offsetsLog.history(of: group)
    }

    public var historyRetention: String { "history is kept for the retention.ms of topic '\(OffsetsStore.topicName)'" }

    public func activeGroups(_ groups: [String]) throws -> Set<String> {
        var active: Set<String> = []
        for group in groups where try GroupDirectory(directory, group: group).isActive { active.insert(group) }
        return active
    }

    public func allActiveGroups() throws -> [String] {
        try GroupDirectory.names(in: directory).filter { (try? GroupDirectory(directory, group: $0))?.isActive == true }
    }

    public func members(of groups: [String]) throws -> [String: [HolderInfo]] {
        var members: [String: [HolderInfo]] = [:]
        for group in groups { members[group] = try GroupMember.live(try GroupDirectory(directory, group: group), clean: false) }
        return members
    }

    public func partitionHolders(of group: String, _ partitions: [TopicPartition]) throws -> [TopicPartition: HolderInfo] {
        let lock = try GroupDirectory(directory, group: group)
        var holders: [TopicPartition: HolderInfo] = [:]
        for key in partitions { holders[key] = lock.leaseHolder(key) }
        return holders
    }

    public func holdStill(_ group: String, force: Bool, waitMillis: Int64?, holder: HolderInfo) throws -> GroupHold {
        try GroupChangeGuard.acquire(try GroupDirectory(directory, group: group), force: force, waitMillis: waitMillis, holder: holder)
    }

    public func unknownGroup(_ group: String) -> SluiceError {
        .failure(
            .unknownGroup, "consumer group '\(group.printable)' has no committed offsets in \(directory.path)\(closeGroups(to: group))",
            remedy: "list groups with 'sluice group list'")
    }
}
