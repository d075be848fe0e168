import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

/// `consume TOPIC --group G`: reads a topic as a member of a consumer group.
///
/// - Starts each partition at the group's committed offset; without one, or
///   when it lies outside [log start, log end], at `reset` (`--from`, Kafka's
///   `auto.offset.reset`), saying so for the out-of-range case.
/// - Holds a lease on every partition it reads, and the group membership.
/// - Commits only what `TopicConsumer` has written out (`onDelivered`):
///   every `commitEvery` records, every `commitIntervalMillis`, before giving
///   a partition up, and when it stops — so a crash re-reads at most what was
///   delivered after the last commit, and never skips (at-least-once).
/// - Dynamic members split the topic fairly (`Assignment`): they look at the
///   live members every `rebalanceIntervalMillis`, take free partitions of
///   their share, and give up partitions beyond it only at a commit point
///   (delivered, committed, then the lease released).
/// - Without `follow`, a dynamic member stays until the group has read every
///   partition of the topic to the end it had when the member started, not
///   just its own: a member that joins when every partition is taken, or
///   that finishes its share first, may yet be given partitions.
public final class GroupConsumer {
    public enum Membership: Equatable, Sendable {
        /// A fair share, rebalanced as members come and go.
        case dynamic
        /// Exactly these partitions (`--partition`).
        case pinned([Int])
        /// Partitions p with p % count == member (`--member I/N`).
        case staticSplit(member: Int, count: Int)
    }

    public struct Options: Sendable {
        public var membership: Membership = .dynamic
        public var reset: StartPosition = .earliest
        public var commitEvery: Int64?
        public var commitIntervalMillis: Int64 = 5000
        public var commits = true
        public var rebalanceIntervalMillis: Int64 = 300
        public init() {}
    }

    /// The consumer's `recordsPerTurn` in a group: how often, at most, the
    /// member looks at commits and the split while reading a backlog.
    public static let recordsPerTurn: Int64 = 10_000

    /// How long, at most, a member's output buffer takes to reach a slow
    /// reader (`BufferedOutput`'s latency): a member gives up a partition,
    /// and commits, only once what it read of it is written out.
    public static let outputLatencyMillis = 200
    /// The pipe buffer a member asks for when stdout is a pipe: what sits in
    /// it counts as written, so with the default 64 KiB a member that held
    /// many partitions at first would keep seconds of a slow reader's work.
    public static let outputPipeBytes = 16 << 10

    public let group: GroupDirectory
    private let store: OffsetsStore
    private var topic: Topic
    private let consumer: TopicConsumer
    private let options: Options
    private var member: GroupMember?
    private var leases: [Int: Lease] = [:]
    private var partitions: [Int: Partition] = [:]
    private var logEnds: [Int: (at: UInt64, end: Int64)] = [:]
    /// Where each assigned partition's delivery stands, and what was last committed.
    private var positions: [Int: Int64] = [:]
    private var committed: [Int: Int64] = [:]
    private var sinceCommit: Int64 = 0
    private var lastCommit = WallClock.monotonicNanos()
    private var lastRebalance: UInt64 = 0
    private var lastMembers: [String] = []
    private var lastFullLook: UInt64 = 0
    private var settled = false
    /// Each partition's log end when a dynamic member started (see `groupHasDrained`).
    private var drainTargets: [Int: Int64] = [:]
    /// Where the group stood on the partitions not yet drained, and since when.
    private var drainProgress: (reached: [Int: Int64], since: UInt64) = ([:], 0)

    public init(directory: DataDirectory, group: String, topic: Topic, consumer: TopicConsumer, options: Options) throws {
        try directory.requireWritable("consume in group '\(group.printable)'")
        self.group = try GroupDirectory(directory, group: group)
        self.store = OffsetsStore(directory: directory)
        self.topic = topic
        self.consumer = consumer
        self.options = options
    }

    /// The pinned partitions of a static or pinned membership, nil for dynamic.
    private var pinnedPartitions: [Int]? {
        switch options.membership {
        case .dynamic: return nil
        case .pinned(let list): return list
        case .staticSplit(let index, let count): return topic.partitionIndices.filter { $0 % count == index }
        }
    }

    /// Reads until the consumer stops, then commits and leaves the group.
    public func run(shouldStop: () -> Bool) throws -> TopicConsumer.Summary {
        let member = try GroupMember.join(group, topic: topic.name, pinned: pinnedPartitions)
        self.member = member
        defer { leave() }
        consumer.onDelivered = { [unowned self] moved in try delivered(moved) }
        consumer.maintenance = { [unowned self] in try maintain() }
        if let pinned = pinnedPartitions {
            for p in pinned {
                let lease = try Lease.acquire(group, TopicPartition(topic.name, p), holder: member.info)
                try take(p, lease)
            }
        } else {
            for p in topic.partitionIndices { drainTargets[p] = try topic.partition(p).endOffset() }
            // A member with end bounds stops at them: the group's drain is not its business.
            if options.commits && !consumer.isBounded { consumer.waitsForMore = { [unowned self] in try !groupHasDrained() } }
            _ = try rebalance()
        }
        do {
            let summary = try consumer.run(shouldStop: shouldStop)
            try commit()
            try store.flush()
            return summary
        } catch {
            try? commit()
            try? store.flush()
            throw error
        }
    }

    private func leave() {
        consumer.onDelivered = nil
        consumer.maintenance = nil
        consumer.waitsForMore = nil
        leases.values.forEach { $0.release() }
        leases = [:]
        member?.leave()
        member = nil
    }

    // MARK: - commits

    /// Commits every `commitEvery` records and every `commitIntervalMillis`
    /// of wall time while records are written out, however slowly the
    /// reader of the output takes them.
    private func delivered(_ moved: [(partition: Int, next: Int64)]) throws {
        for (partition, next) in moved {
            sinceCommit += next - (positions[partition] ?? next)
            positions[partition] = next
        }
        let countReached = options.commitEvery.map { sinceCommit >= $0 } ?? false
        if countReached || commitIntervalElapsed { try commit() }
    }

    private var commitIntervalElapsed: Bool {
        WallClock.monotonicNanos() - lastCommit >= UInt64(options.commitIntervalMillis) * 1_000_000
    }

    /// Whether the group has read every partition to `drainTargets`: this
    /// member's position where it holds the partition, the group's commit
    /// elsewhere; a partition whose records retention removed counts as read.
    /// Asked when the member is idle.
    private func groupHasDrained() throws -> Bool {
        // Idle here: what this member has written is committed now, not at the next interval,
        // since the other members wait for it before they stop.
        try commit()
        let groupOffsets = try store.offsets(of: group.group)
        var behind: [Int: Int64] = [:]
        for (p, target) in drainTargets {
            let reached = leases[p] != nil ? positions[p] : groupOffsets[TopicPartition(topic.name, p)]?.offset
            if let reached, reached >= target { continue }
            if try (partitions[p] ?? topic.partition(p)).logStartOffset() >= target { continue }
            behind[p] = reached ?? -1
        }
        let now = WallClock.monotonicNanos()
        if behind != drainProgress.reached { drainProgress = (behind, now) }
        if !behind.isEmpty && now - drainProgress.since < stalledDrainNanos { return false }
        if !behind.isEmpty {
            // Members write and commit at least every commit interval: a group that moved none of these partitions
            // for two of them is stuck (a member that does not commit, a transaction with no marker yet), not slow.
            Diagnostics.warn(
                """
                group '\(group.group.printable)' has not moved partitions \(behind.keys.sorted().map(String.init).joined(separator: ", ")) \
                of \(topic.name) for \(TimeParsing.formatDuration(Int64(stalledDrainNanos / 1_000_000))); stopping without waiting for them
                """
            )
        }
        drainTargets = [:]
        return true
    }

    /// How long a member waits for the group while none of the partitions left moves.
    private var stalledDrainNanos: UInt64 { UInt64(2 * options.commitIntervalMillis + 1000) * 1_000_000 }

    /// Commits every partition whose delivered position moved, as one batch.
    private func commit() throws {
        lastCommit = WallClock.monotonicNanos()
        sinceCommit = 0
        guard options.commits, let member else { return }
        var changes: [OffsetChange] = []
        for (p, position) in positions.sorted(by: { $0.key < $1.key }) where committed[p] != position {
            changes.append(
                OffsetChange(
                    TopicPartition(topic.name, p), offset: position, previousOffset: committed[p],
                    logEndOffset: try logEnd(p).map { max($0, position) }))
        }
        guard !changes.isEmpty else { return }
        try store.commit(
            group: group.group, changes: changes, annotations: CommitAnnotations(operation: .commit, member: member.info.member),
            durability: .deferred)
        for change in changes { committed[change.topicPartition.partition] = change.offset }
    }

    /// A partition's log-end offset for the commit's `sluice.log-end`,
    /// measured at most once a second (it feeds trends, not offsets).
    private func logEnd(_ p: Int) throws -> Int64? {
        let now = WallClock.monotonicNanos()
        if let known = logEnds[p], now - known.at < 1_000_000_000 { return known.end }
        guard let end = try partitions[p]?.endOffset() else { return nil }
        logEnds[p] = (now, end)
        return end
    }

    private func maintain() throws -> Bool {
        if commitIntervalElapsed { try commit() }
        guard pinnedPartitions == nil, WallClock.monotonicNanos() - lastRebalance >= UInt64(options.rebalanceIntervalMillis) * 1_000_000
        else { return false }
        return try rebalance()
    }

    // MARK: - fair split

    /// Recomputes this member's share when the members changed, when it does
    /// not hold its share yet, and every 2 seconds; gives up what it should
    /// not hold (at a commit point) and takes what is free. Returns whether
    /// the assignment changed.
    private func rebalance() throws -> Bool {
        lastRebalance = WallClock.monotonicNanos()
        guard let member else { return false }
        let live = try GroupMember.live(group).filter { $0.topic == topic.name }
        let dynamic = live.filter { $0.mode == "dynamic" }.map(\.member)
        let now = WallClock.monotonicNanos()
        // Members that read the leases at different moments may each leave a
        // freed partition to the other: look again every few seconds anyway.
        if dynamic == lastMembers && settled && now - lastFullLook < 2_000_000_000 { return false }
        lastMembers = dynamic
        lastFullLook = now
        // Partitions added to the topic while the group reads it join the split.
        if let grown = try? topic.directory.topic(topic.name), grown.metadata.id == topic.metadata.id,
            grown.partitionCount > topic.partitionCount
        {
            topic = grown
        }
        let claimed = Set(live.filter { $0.mode == "pinned" }.flatMap(\.partitions))
        let free = topic.partitionIndices.filter { !claimed.contains($0) }
        var owners: [Int: String] = [:]
        for p in free { owners[p] = group.recordedLeaseOwner(TopicPartition(topic.name, p)) }
        let target = Set(Assignment.assign(partitions: free, members: dynamic, owners: owners)[member.info.member] ?? [])
        let surplus = leases.keys.filter { !target.contains($0) }.sorted()
        if !surplus.isEmpty { try give(surplus) }
        var took = false
        for p in target.sorted() where leases[p] == nil {
            guard let lease = try Lease.tryAcquire(group, TopicPartition(topic.name, p), holder: member.info) else { continue }
            try take(p, lease)
            took = true
        }
        settled = Set(leases.keys) == target
        return took || !surplus.isEmpty
    }

    /// Stops reading partitions, commits what was delivered of them, then releases their leases.
    private func give(_ released: [Int]) throws {
        for p in released { try consumer.unassign(p) }
        try commit()
        for p in released {
            leases.removeValue(forKey: p)?.release()
            positions[p] = nil
            committed[p] = nil
        }
    }

    /// Starts reading a partition whose lease this member now holds.
    private func take(_ p: Int, _ lease: Lease) throws {
        leases[p] = lease
        let partition = try topic.partition(p)
        partitions[p] = partition
        let current = try store.offsets(of: group.group)[TopicPartition(topic.name, p)]?.offset
        let start = try startOffset(partition, committed: current)
        try consumer.assign(partition, from: start)
        positions[p] = start
        committed[p] = current
    }

    private func startOffset(_ partition: Partition, committed: Int64?) throws -> Int64 {
        guard let committed else { return try options.reset.resolve(in: partition) }
        let (start, end) = try partition.offsetRange()
        if committed >= start && committed <= end { return committed }
        if committed > end && partition.isWritable {
            // A sluice log never ends before an offset a group committed unless records were lost: resetting would
            // re-read or skip them silently, so say so instead.
            throw SluiceError.checkFailed(
                .corruptLog,
                """
                group '\(group.group.printable)' committed offset \(committed) of \(partition.name), \
                but the partition's log ends at \(end): records it had are lost or damaged
                """,
                remedy:
                    "run 'sluice verify \(partition.topic)', then 'sluice verify \(partition.topic) --repair' to reserve the lost offsets")
        }
        let reset = try options.reset.resolve(in: partition)
        Diagnostics.warn(
            """
            group '\(group.group.printable)': the committed offset \(committed) of \
            \(partition.name) is outside its log [\(start), \(end)]; starting at \(reset) (--from)
            """
        )
        return reset
    }
}
