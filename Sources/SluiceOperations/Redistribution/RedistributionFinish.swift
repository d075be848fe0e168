import SluiceCore
import SluiceGroups
import SluiceLocal
import SluiceStorage
import SluiceStore
import SluiceSystem

/// `redistribute finish NAME`: once the drain group has consumed the whole
/// temporary topic, deletes the topic and every group's offsets on it, and
/// records the outcome. The source topic and G are not touched: they stay as
/// `start` left them.
///
/// Steps, each safe to repeat after a crash: take the record's lock; take
/// the groups with offsets on the temporary topic (active ones are refused);
/// check the drain (or `force`); save the record as `finishing` with the
/// outcome; delete the groups' offsets on the topic (one commit per group);
/// delete the topic; save the record as `finished`.
public enum RedistributionFinish {
    public static func run(
        _ directory: DataDirectory, name: String, force: Bool, waitInactiveMillis: Int64?,
        now: Int64 = WallClock.nowMillis()
    ) throws -> RedistributionRecord {
        let store = RedistributionStore(directory: directory)
        var record = try store.require(name)
        guard record.kind == .redistribution else {
            throw SluiceError.usage(
                .invalidArgument, "'\(name)' is a migration: its topic is permanent and needs no finish",
                remedy: "delete it with 'sluice topic delete \(name)' if it is not wanted")
        }
        if record.phase == .finished { return record }
        try directory.requireWritable("finish redistribution '\(name)'")
        let lock = try store.lock(name)
        defer { lock.release() }
        record = try store.require(name)
        let target = try ownTarget(directory, record)
        let holders = try holdGroups(directory, record, waitInactiveMillis: waitInactiveMillis)
        defer { holders.forEach { $0.guard.release() } }
        switch record.phase {
        case .copying:
            guard force else {
                throw SluiceError.checkFailed(
                    .notDrained,
                    """
                    redistribution '\(name)' is still copying (\(record.copiedRecords) \
                    records so far); group '\(record.group?.printable ?? "")' was not moved
                    """,
                    remedy:
                        """
                        resume it with 'sluice redistribute start \(record.sourceTopic) --group \(record.group ?? "") \
                        --into \(name) --execute'; --force abandons it (G then consumes its backlog itself)
                        """
                )
            }
            record.outcome = "abandoned"
        case .draining:
            let left = try target.map { try undrained(directory, record, $0) } ?? 0
            if left > 0 && !force {
                throw SluiceError.checkFailed(
                    .notDrained,
                    """
                    redistribution '\(name)' is not drained: group '\(record.drainGroup!.printable)' \
                    has \(left) records of topic '\(record.targetTopic)' left to consume
                    """,
                    remedy: "wait for its consumers (see 'sluice redistribute status \(name)'), or pass --force to delete them unconsumed")
            }
            record.outcome = left > 0 ? "forced" : "drained"
        case .finishing, .finished, .migrated:
            break
        }
        record.phase = .finishing
        try store.save(&record, now: now)
        let offsets = LocalStore(directory)
        for (group, keys) in holders.map({ ($0.group, $0.keys) }) {
            try offsets.commit(
                group: group, changes: keys.map { OffsetChange($0, offset: nil) },
                annotations: CommitAnnotations(operation: .delete, detail: "redistribute finish \(name)"))
        }
        if target != nil { try directory.deleteTopic(record.targetTopic) }
        record.phase = .finished
        record.finishedAt = now
        try store.save(&record, now: now)
        return record
    }

    /// The temporary topic, if it still exists and is the one the record
    /// created: its id, or (when `start` was killed between creating it and
    /// recording its id) `RecordPlanning.isAdoptable`.
    private static func ownTarget(_ directory: DataDirectory, _ record: RedistributionRecord) throws -> Topic? {
        guard let topic = try directory.existingTopic(record.targetTopic) else { return nil }
        guard let id = record.targetTopicID else { return try RecordPlanning.isAdoptable(topic, by: record) ? topic : nil }
        return topic.metadata.id == id ? topic : nil
    }

    /// Records of the temporary topic the drain group has not consumed.
    static func undrained(_ directory: DataDirectory, _ record: RedistributionRecord, _ target: Topic) throws -> Int64 {
        let committed = try LocalStore(directory).committedOffsets(of: record.drainGroup!)
        var left: Int64 = 0
        for partition in try target.partitions() {
            let end = try partition.endOffset()
            left += max(0, end - (committed[TopicPartition(target.name, partition.index)]?.offset ?? 0))
        }
        return left
    }

    /// Every group with offsets on the temporary topic, held still (an
    /// active one is refused), with the keys to delete.
    private static func holdGroups(
        _ directory: DataDirectory, _ record: RedistributionRecord,
        waitInactiveMillis: Int64?
    ) throws -> [(group: String, keys: [TopicPartition], guard: GroupHold)] {
        var held: [(group: String, keys: [TopicPartition], guard: GroupHold)] = []
        for (group, offsets) in try LocalStore(directory).allCommittedOffsets().sorted(by: { $0.key < $1.key }) {
            let keys = offsets.keys.filter { $0.topic == record.targetTopic }.sorted()
            guard !keys.isEmpty else { continue }
            do {
                let guarded = try LocalStore(directory).holdStill(group, force: false, waitMillis: waitInactiveMillis)
                try guarded.claim(keys)
                held.append((group, keys, guarded))
            } catch {
                held.forEach { $0.guard.release() }
                throw error
            }
        }
        return held
    }
}

extension SluiceError.Reason {
    public static let notDrained = Self("not-drained")
}
