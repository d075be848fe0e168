import SluiceCore
import SluiceGroups
import SluiceLocal
import SluiceStorage
import SluiceStore
import SluiceSystem

/// What `topic migrate` was asked to do.
public struct MigrationRequest: Sendable {
    public var topic: String
    public var to: String
    public var partitions: Int
    public var strategy = RedistributionStrategy.key
    public var groups: [String] = []
    public var provenance = false
    public var chunkBytes = ChunkedCopy.defaultChunkBytes
    public var waitInactiveMillis: Int64?

    public init(topic: String, to: String, partitions: Int) {
        self.topic = topic
        self.to = to
        self.partitions = partitions
    }
}

/// `topic migrate`: a permanent copy of a whole topic into a new topic with
/// more partitions, by the same engine and with the same safety as
/// `redistribute start` (dry run first, exactly once, resumable under the
/// record named after the new topic), then each named group's committed
/// offsets translated onto the new topic (`OffsetTranslation` states the
/// rule). The groups are held still for the whole run; their offsets on the
/// old topic are left as they were.
public enum TopicMigration {
    public static let strategies: [RedistributionStrategy] = [.key, .roundRobin]

    public static func plan(_ directory: DataDirectory, _ request: MigrationRequest, now: Int64 = WallClock.nowMillis()) throws
        -> RedistributionPlan
    {
        try DataDirectory.validatePartitionCount(request.partitions)
        guard strategies.contains(request.strategy) else {
            throw SluiceError.usage(.invalidArgument, "topic migrate takes --strategy key or round-robin, not \(request.strategy.rawValue)")
        }
        for group in request.groups { try GroupName.validate(group) }
        if let repeated = request.groups.first(where: { g in request.groups.filter { $0 == g }.count > 1 }) {
            throw SluiceError.usage(.invalidArgument, "group '\(repeated.printable)' is named twice")
        }
        try TopicName.validate(request.to)
        try TopicName.requireUserTopic(request.topic, for: "topic migrate")
        let source = try directory.topic(request.topic)
        guard request.to != request.topic else {
            throw SluiceError.usage(.invalidArgument, "--to must name a new topic, not '\(request.topic)' itself")
        }
        let store = RedistributionStore(directory: directory)
        if let existing = try store.load(request.to) {
            try checkSameArguments(existing, request)
            return try RecordPlanning.describe(existing, source: source, resuming: true)
        }
        try RecordPlanning.refuseExistingTarget(directory, request.to)
        let offsets = LocalStore(directory)
        var groups: [RedistributionRecord.MigratedGroup] = []
        for group in request.groups {
            var committed: [Int: Int64] = [:]
            for (key, entry) in try offsets.committedOffsets(of: group) where key.topic == source.name {
                committed[key.partition] = entry.offset
            }
            guard !committed.isEmpty else {
                throw SluiceError.failure(
                    .unknownGroup, "group '\(group.printable)' has no committed offsets on topic '\(source.name)'",
                    remedy: "name only groups that consume it (see 'sluice lag --topic \(source.name)')")
            }
            groups.append(RedistributionRecord.MigratedGroup(group: group, committed: committed, translated: [:]))
        }
        var sources: [RedistributionRecord.Source] = []
        for partition in try source.partitions() {
            let (start, end) = try partition.offsetRange()
            sources.append(
                RedistributionRecord.Source(
                    partition: partition.index, committed: nil, start: start, startReason: .logStart, stop: end,
                    next: start, chunkEnd: start, splitAbove: 0, copiedRecords: 0, copiedBytes: 0))
        }
        let total = sources.reduce(Int64(0)) { $0 + $1.stop! - $1.start }
        for i in sources.indices { sources[i].splitAbove = ChunkedCopy.splitAbove(blockRecords: total, blockSize: request.partitions) }
        let record = RedistributionRecord(
            name: request.to, kind: .migration, sourceTopic: source.name, sourceTopicID: source.metadata.id, targetTopic: request.to,
            targetTopicID: nil, targetPartitions: request.partitions, factor: nil, strategy: request.strategy,
            provenance: request.provenance, follow: false, group: nil, drainGroup: nil, migratedGroups: groups, sources: sources,
            targets: (0..<request.partitions).map { RedistributionRecord.Target(partition: $0, end: 0, records: 0) },
            unkeyedNext: 0, phase: .copying, createdAt: now, updatedAt: now, handedOffAt: nil, finishedAt: nil, outcome: nil)
        return try RecordPlanning.describe(record, source: source, resuming: false)
    }

    static func checkSameArguments(_ record: RedistributionRecord, _ request: MigrationRequest) throws {
        try RecordPlanning.refuseDifferences(
            record,
            [
                (record.kind != .migration, "it is a redistribution"),
                (record.sourceTopic != request.topic, "it copies topic '\(record.sourceTopic)'"),
                (record.targetPartitions != request.partitions, "it makes \(record.targetPartitions) partitions"),
                (record.strategy != request.strategy, "its strategy is \(record.strategy.rawValue)"),
                (
                    record.provenance != request.provenance,
                    record.provenance ? "it adds provenance headers" : "it adds no provenance headers"
                ),
                (record.migratedGroups.map(\.group) != request.groups, "it translates groups \(record.migratedGroups.map(\.group))"),
            ], remedy: "resume it with its own arguments, or migrate into another topic")
    }

    /// Runs (or resumes) the migration; returns its record.
    public static func run(
        _ directory: DataDirectory, _ request: MigrationRequest, progress: ((CopyProgress) -> Void)? = nil,
        shouldStop: () -> Bool = { Interruption.requested }
    ) throws -> RedistributionRecord {
        try directory.requireWritable("migrate topic '\(request.topic)'")
        _ = try plan(directory, request)
        let store = RedistributionStore(directory: directory)
        let lock = try store.lock(request.to)
        defer { lock.release() }
        let source = try directory.topic(request.topic)
        var held: [GroupHold] = []
        defer { held.forEach { $0.release() } }
        let keys =
            source.partitionIndices.map { TopicPartition(source.name, $0) }
            + (0..<request.partitions).map { TopicPartition(request.to, $0) }
        for group in request.groups {
            let guarded = try LocalStore(directory).holdStill(group, force: false, waitMillis: request.waitInactiveMillis)
            held.append(guarded)
            try guarded.claim(keys)
        }
        let plan = try self.plan(directory, request)
        var record = plan.record
        if record.phase == .migrated { return record }
        if !plan.resuming {
            try RecordPlanning.requireSpace(directory, plan)
            try store.save(&record)
        }
        let target = try RecordPlanning.ensureTarget(directory, &record, config: source.config, store: store)
        let complete = try ChunkedCopy(store: store, source: source, target: target, chunkBytes: request.chunkBytes, progress: progress)
            .run(&record, shouldStop: shouldStop)
        guard complete else {
            throw SluiceError.failure(
                .interrupted,
                """
                migration of topic '\(request.topic)' into '\(request.to)' interrupted by \(Interruption.signalName) \
                after copying \(record.copiedRecords) of \(record.backlogRecords ?? 0) records
                """,
                remedy: "run the same command again to resume")
        }
        try commitTranslations(directory, record)
        record.phase = .migrated
        record.finishedAt = WallClock.nowMillis()
        try store.save(&record)
        return record
    }

    /// Commits each group's translated offsets on the new topic (a target
    /// partition without an unconsumed record: its end), skipping those already there.
    static func commitTranslations(_ directory: DataDirectory, _ record: RedistributionRecord) throws {
        let offsets = LocalStore(directory)
        for group in record.migratedGroups {
            let committed = try offsets.committedOffsets(of: group.group)
            var changes: [OffsetChange] = []
            for target in record.targets {
                let key = TopicPartition(record.targetTopic, target.partition)
                let offset = group.translated[target.partition] ?? target.end
                if committed[key]?.offset != offset { changes.append(OffsetChange(key, offset: offset, logEndOffset: target.end)) }
            }
            try offsets.commit(
                group: group.group, changes: changes,
                annotations: CommitAnnotations(
                    operation: .seek, detail: "topic migrate \(record.sourceTopic) --to \(record.targetTopic)"))
        }
    }

    /// The translated offsets of a finished migration, per group and target partition.
    public static func translatedOffsets(_ record: RedistributionRecord) -> [String: [Int: Int64]] {
        var out: [String: [Int: Int64]] = [:]
        for group in record.migratedGroups {
            out[group.group] = Dictionary(
                uniqueKeysWithValues: record.targets.map { ($0.partition, group.translated[$0.partition] ?? $0.end) })
        }
        return out
    }
}
