import SluiceCore
import SluiceGroups
import SluiceLocal
import SluiceStorage
import SluiceStore
import SluiceSystem

/// Where a group's partitions without a committed offset start (Kafka's `auto.offset.reset`).
public enum OffsetReset: String, Sendable, CaseIterable {
    case earliest, latest
}

/// What `redistribute start` was asked to do.
public struct RedistributionRequest: Sendable {
    public static let maxFactor = 1000

    public var topic: String
    public var group: String
    public var factor = 10
    /// The temporary topic's name; nil for the default (`RedistributionNames`).
    public var into: String?
    public var strategy = RedistributionStrategy.roundRobin
    public var provenance = true
    public var follow = false
    /// Where partitions without a committed offset start.
    public var reset = OffsetReset.earliest
    public var chunkBytes = ChunkedCopy.defaultChunkBytes
    public var waitInactiveMillis: Int64?

    public init(topic: String, group: String) {
        self.topic = topic
        self.group = group
    }

    public var name: String { into ?? RedistributionNames.temporaryTopic(topic: topic, group: group, factor: factor) }
}

/// A redistribution's plan: the record it starts from (new, or the one a
/// resumed run continues), and what the dry run shows.
public struct RedistributionPlan: Sendable {
    public var record: RedistributionRecord
    /// Whether a record with these arguments exists and the run continues it.
    public var resuming: Bool
    /// Each source partition's log end now.
    public var ends: [Int64]
    public var backlogRecords: Int64
    public var backlogBytes: Int64
    public var estimatedMillis: Int64

    /// `redistribute start --json` and `topic migrate --json`, schema version 1:
    ///
    ///     {"version": 1, "name", "kind", "executed", "resuming", "phase", "source_topic", "group", "drain_group",
    ///      "migrated_groups": [...], "target_topic", "target_partitions", "factor", "strategy", "ordering",
    ///      "provenance", "follow", "backlog_records", "backlog_bytes", "estimated_ms", "copied_records",
    ///      "partitions": [{"partition", "committed", "start", "start_reason", "end", "stop", "backlog"}]}
    ///
    /// `stop` is null while following; `committed` is null without a committed offset.
    public func json(executed: Bool) -> JSONValue {
        [
            "version": 1, "name": .string(record.name), "kind": .string(record.kind.rawValue), "executed": .bool(executed),
            "resuming": .bool(resuming), "phase": .string(record.phase.rawValue), "source_topic": .string(record.sourceTopic),
            "group": JSONValue(record.group), "drain_group": JSONValue(record.drainGroup),
            "migrated_groups": .array(record.migratedGroups.map { .string($0.group) }),
            "target_topic": .string(record.targetTopic), "target_partitions": JSONValue(record.targetPartitions),
            "factor": record.factor.map(JSONValue.init) ?? .null, "strategy": .string(record.strategy.rawValue),
            "ordering": .string(record.strategy.ordering), "provenance": .bool(record.provenance), "follow": .bool(record.follow),
            "backlog_records": .int(backlogRecords), "backlog_bytes": .int(backlogBytes), "estimated_ms": .int(estimatedMillis),
            "copied_records": .int(record.copiedRecords),
            "partitions": .array(
                zip(record.sources, ends).map { source, end in
                    [
                        "partition": JSONValue(source.partition), "committed": JSONValue(source.committed), "start": .int(source.start),
                        "start_reason": .string(source.startReason.rawValue), "end": .int(end), "stop": JSONValue(source.stop),
                        "backlog": .int((source.stop ?? end) - source.start),
                    ]
                }),
        ]
    }
}

/// `redistribute start`: plans, and with `start` runs, the fan-out of a
/// group's backlog into a temporary topic with `factor` times the partitions.
///
/// Safety, in order: bad input is refused before anything is written; the
/// record's lock refuses a second process on the same redistribution; G's
/// group lock (exclusive) and its leases on every source partition are held
/// for the whole run, so G is active, its consumers cannot start, and no
/// other redistribution of G can run; an unfinished redistribution of the
/// same topic and group under another name is refused. The copy is
/// `ChunkedCopy`; the hand-off moves G's committed offsets to where the copy
/// stopped in one atomic commit (re-done identically after a crash).
public enum Redistributor {
    /// Plans without changing anything: the dry run, and the first step of `start`.
    public static func plan(_ directory: DataDirectory, _ request: RedistributionRequest, now: Int64 = WallClock.nowMillis()) throws
        -> RedistributionPlan
    {
        try GroupName.validate(request.group)
        guard (1...RedistributionRequest.maxFactor).contains(request.factor) else {
            throw SluiceError.usage(
                .invalidArgument, "invalid --factor \(request.factor)", remedy: "use 1 to \(RedistributionRequest.maxFactor)")
        }
        try TopicName.requireUserTopic(request.topic, for: "redistribute")
        let source = try directory.topic(request.topic)
        let name = request.name
        try TopicName.validate(name)
        let partitions = source.partitionCount * request.factor
        guard partitions <= DataDirectory.maxPartitions else {
            throw SluiceError.usage(
                .invalidArgument, "the temporary topic would have \(partitions) partitions, more than \(DataDirectory.maxPartitions)",
                remedy: "use a smaller --factor")
        }
        let store = RedistributionStore(directory: directory)
        if let existing = try store.load(name), existing.phase != .finished {
            try checkSameArguments(existing, request)
            return try RecordPlanning.describe(existing, source: source, resuming: true)
        }
        try RecordPlanning.refuseExistingTarget(directory, name)
        if let other = try store.all().first(where: {
            $0.kind == .redistribution && $0.sourceTopic == request.topic && $0.group == request.group && $0.phase == .copying
        }) {
            throw SluiceError.checkFailed(
                .redistributionConflict,
                "redistribution '\(other.name)' of topic '\(request.topic)' for group '\(request.group.printable)' is still copying",
                remedy:
                    """
                    resume it with 'sluice redistribute start \(request.topic) --group \(request.group) --into \
                    \(other.name) --execute', or abandon it with 'sluice redistribute finish \(other.name) --force'
                    """
            )
        }
        let committed = try LocalStore(directory).committedOffsets(of: request.group)
        var sources: [RedistributionRecord.Source] = []
        var backlog: [Int64] = []
        for partition in try source.partitions() {
            let (logStart, end) = try partition.offsetRange()
            let offset = committed[TopicPartition(source.name, partition.index)]?.offset
            let start: Int64, reason: RedistributionRecord.StartReason
            if let offset, offset >= logStart && offset <= end {
                (start, reason) = (offset, .committed)
            } else {
                start = request.reset == .earliest ? logStart : end
                reason = offset != nil ? .outOfRange : request.reset == .earliest ? .earliest : .latest
            }
            sources.append(
                RedistributionRecord.Source(
                    partition: partition.index, committed: offset, start: start, startReason: reason, stop: request.follow ? nil : end,
                    next: start, chunkEnd: start, splitAbove: 0, copiedRecords: 0, copiedBytes: 0))
            backlog.append(end - start)
        }
        let blockSize = request.strategy == .sourcePartition ? request.factor : partitions
        for i in sources.indices {
            let block = request.strategy == .sourcePartition ? backlog[i] : backlog.reduce(0, +)
            sources[i].splitAbove = ChunkedCopy.splitAbove(blockRecords: block, blockSize: blockSize)
        }
        let record = RedistributionRecord(
            name: name, kind: .redistribution, sourceTopic: source.name, sourceTopicID: source.metadata.id, targetTopic: name,
            targetTopicID: nil, targetPartitions: partitions, factor: request.factor, strategy: request.strategy,
            provenance: request.provenance, follow: request.follow, group: request.group,
            drainGroup: RedistributionNames.drainGroup(temporaryTopic: name), migratedGroups: [], sources: sources,
            targets: (0..<partitions).map { RedistributionRecord.Target(partition: $0, end: 0, records: 0) },
            unkeyedNext: 0, phase: .copying, createdAt: now, updatedAt: now, handedOffAt: nil, finishedAt: nil, outcome: nil)
        return try RecordPlanning.describe(record, source: source, resuming: false)
    }

    /// A resumed run must be the same redistribution.
    static func checkSameArguments(_ record: RedistributionRecord, _ request: RedistributionRequest) throws {
        try RecordPlanning.refuseDifferences(
            record,
            [
                (record.kind != .redistribution, "it is a migration"),
                (record.sourceTopic != request.topic, "its topic is '\(record.sourceTopic)'"),
                (record.group != request.group, "its group is '\(record.group?.printable ?? "")'"),
                (record.factor != request.factor, "its factor is \(record.factor ?? 0)"),
                (record.strategy != request.strategy, "its strategy is \(record.strategy.rawValue)"),
                (
                    record.provenance != request.provenance,
                    record.provenance ? "it adds provenance headers" : "it was started with --no-provenance"
                ),
                (record.follow != request.follow, record.follow ? "it follows (--follow)" : "it was started without --follow"),
            ], remedy: "resume it with its own arguments, or choose another name with --into")
    }

    /// Runs (or resumes) the redistribution and hands off; returns its record.
    /// Without `follow`, stopping early (`shouldStop`) leaves it resumable and throws.
    public static func start(
        _ directory: DataDirectory, _ request: RedistributionRequest, progress: ((CopyProgress) -> Void)? = nil,
        shouldStop: () -> Bool = { Interruption.requested }
    ) throws -> RedistributionRecord {
        try directory.requireWritable("redistribute topic '\(request.topic)'")
        _ = try plan(directory, request)
        let store = RedistributionStore(directory: directory)
        let lock = try store.lock(request.name)
        defer { lock.release() }
        var holder = HolderInfo.administrator()
        holder.member = "redistribute-\(request.name)-\(holder.pid)"
        let group = try LocalStore(directory).holdStill(request.group, force: false, waitMillis: request.waitInactiveMillis, holder: holder)
        defer { group.release() }
        let plan = try self.plan(directory, request)
        var record = plan.record
        if record.phase != .copying { return record }
        let source = try directory.topic(request.topic)
        try group.claim(source.partitionIndices.map { TopicPartition(source.name, $0) })
        if plan.resuming {
            try checkGroupUntouched(directory, record)
        } else {
            try RecordPlanning.requireSpace(directory, plan)
            try store.save(&record)
        }
        let target = try RecordPlanning.ensureTarget(directory, &record, config: temporaryConfig(source.config), store: store)
        try startDrainGroup(directory, record)
        let complete = try ChunkedCopy(store: store, source: source, target: target, chunkBytes: request.chunkBytes, progress: progress)
            .run(&record, shouldStop: shouldStop)
        if !complete && !record.follow {
            throw SluiceError.failure(
                .interrupted,
                """
                redistribution '\(record.name)' interrupted by \(Interruption.signalName) after copying \(record.copiedRecords) \
                of \(record.backlogRecords ?? 0) records; group '\(request.group.printable)' was not moved
                """,
                remedy: "run the same command again to resume")
        }
        try handOff(directory, &record, store: store, holder: holder)
        return record
    }

    /// The temporary topic keeps the source's config except retention: it
    /// keeps everything until `finish` deletes it.
    static func temporaryConfig(_ config: TopicConfig) -> TopicConfig {
        var config = config
        config.retentionMs = -1
        config.retentionBytes = -1
        return config
    }

    /// Refuses to go on when G's offsets moved while the redistribution was
    /// not running (its consumers ran, or someone seeked): the copied records
    /// would then be consumed twice or the moved offsets overwritten.
    static func checkGroupUntouched(_ directory: DataDirectory, _ record: RedistributionRecord) throws {
        let committed = try LocalStore(directory).committedOffsets(of: record.group!)
        let moved = record.sources.filter { source in
            let now = committed[TopicPartition(record.sourceTopic, source.partition)]?.offset
            return now != source.committed && (now == nil || now != source.stop)
        }
        guard let first = moved.first else { return }
        let now = committed[TopicPartition(record.sourceTopic, first.partition)]?.offset
        throw SluiceError.checkFailed(
            .redistributionConflict,
            """
            the offsets of group '\(record.group!.printable)' moved while redistribution '\(record.name)' was interrupted \
            (\(record.sourceTopic)-\(first.partition): \(now.map(String.init) ?? "none"), was \(first.committed.map(String.init) ?? "none"))
            """,
            remedy:
                """
                its consumers must not run until the redistribution hands off; abandon it \
                with 'sluice redistribute finish \(record.name) --force' and start again
                """
        )
    }

    /// Positions the drain group at the beginning of every temporary
    /// partition it has no offset for (once; its consumers may already run).
    static func startDrainGroup(_ directory: DataDirectory, _ record: RedistributionRecord) throws {
        let store = LocalStore(directory)
        let drain = record.drainGroup!
        let committed = try store.committedOffsets(of: drain)
        let changes = record.targets.map { TopicPartition(record.targetTopic, $0.partition) }.filter { committed[$0] == nil }
            .map { OffsetChange($0, offset: 0, logEndOffset: 0) }
        try store.commit(
            group: drain, changes: changes,
            annotations: CommitAnnotations(
                operation: .seek, detail: "redistribute \(record.name): the drain group starts at the beginning of the temporary topic"))
    }

    /// Moves G's committed offsets to where the copy stopped (one atomic
    /// commit, skipped where already there), then records the hand-off.
    static func handOff(_ directory: DataDirectory, _ record: inout RedistributionRecord, store: RedistributionStore, holder: HolderInfo)
        throws
    {
        if !record.copyComplete {
            for i in record.sources.indices { record.sources[i].stop = record.sources[i].next }
            try store.save(&record)
        }
        let offsets = LocalStore(directory)
        let group = record.group!
        let committed = try offsets.committedOffsets(of: group)
        var changes: [OffsetChange] = []
        for source in record.sources {
            let key = TopicPartition(record.sourceTopic, source.partition)
            guard committed[key]?.offset != source.stop else { continue }
            changes.append(OffsetChange(key, offset: source.stop!, previousOffset: committed[key]?.offset, logEndOffset: source.stop))
        }
        try offsets.commit(
            group: group, changes: changes,
            annotations: CommitAnnotations(
                operation: .seek, member: holder.member,
                detail: "redistribute \(record.name): continues after the backlog copied to \(record.targetTopic)"))
        record.phase = .draining
        record.handedOffAt = WallClock.nowMillis()
        try store.save(&record)
    }
}
