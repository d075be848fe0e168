import SluiceCore
import SluiceLocal
import SluiceStorage
import SluiceSystem

/// The steps redistribution and migration share: describing a record as a
/// plan, refusing a target that exists, checking free space, and creating
/// (or, after a crash, adopting) the target topic.
enum RecordPlanning {
    /// Rough speeds for the plan's estimate, measured with the release build
    /// on a 2-core machine (10M records of ~150 bytes, fsynced): whole batches
    /// copied untouched, whole batches with the provenance header spliced in,
    /// and records re-encoded one by one (the key strategy).
    static let wholeBatchBytesPerSecond: Int64 = 1_000_000_000
    static let splicedBatchBytesPerSecond: Int64 = 600_000_000
    static let reencodedRecordsPerSecond: Int64 = 3_000_000
    /// Extra target bytes per copied byte: the provenance header adds ~30 bytes per record.
    static let provenanceOverhead = 1.3

    /// Whether `topic`, of the record's target name but with no id recorded,
    /// is the one the record's `start` created before it was killed (before
    /// recording the id): the right partition count, created after the
    /// record, and still empty (nothing is copied before the id is recorded).
    static func isAdoptable(_ topic: Topic, by record: RedistributionRecord) throws -> Bool {
        guard topic.partitionCount == record.targetPartitions, topic.metadata.createdAt >= record.createdAt else { return false }
        return try topic.partitions().allSatisfy { try $0.endOffset() == 0 }
    }

    static func describe(_ record: RedistributionRecord, source: Topic, resuming: Bool) throws -> RedistributionPlan {
        var ends: [Int64] = [], total: Int64 = 0, remaining: Int64 = 0, bytes: Int64 = 0
        for s in record.sources {
            let partition = try source.partition(s.partition)
            let extent = try partition.extent()
            let end = extent.end, records = end - extent.start
            ends.append(end)
            let backlog = (s.stop ?? end) - s.start
            total += backlog
            remaining += (s.stop ?? end) - s.next
            if records > 0 { bytes += Int64(Double(extent.bytes) * Double(backlog) / Double(records)) }
        }
        let remainingBytes = total > 0 ? Int64(Double(bytes) * Double(remaining) / Double(total)) : 0
        let estimate =
            record.strategy == .key
            ? remaining * 1000 / reencodedRecordsPerSecond
            : remainingBytes * 1000 / (record.provenance ? splicedBatchBytesPerSecond : wholeBatchBytesPerSecond)
        return RedistributionPlan(
            record: record, resuming: resuming, ends: ends, backlogRecords: total, backlogBytes: bytes,
            estimatedMillis: estimate)
    }

    /// Refuses to resume a record with other arguments than it was started
    /// with: `differences` pairs each check that failed with how the record differs.
    static func refuseDifferences(_ record: RedistributionRecord, _ differences: [(differs: Bool, how: String)], remedy: String) throws {
        let found = differences.filter(\.differs).map(\.how)
        guard !found.isEmpty else { return }
        throw SluiceError.usage(
            .redistributionConflict,
            """
            \(record.kind == .migration ? "a migration into" : "redistribution") \
            '\(record.name)' exists with other arguments: \(found.joined(separator: ", "))
            """,
            remedy: remedy)
    }

    /// The target must be new: an existing topic (or one whose name differs
    /// only by '.' versus '_') is refused before anything is written.
    static func refuseExistingTarget(_ directory: DataDirectory, _ name: String) throws {
        let names = try directory.topicNames(includeInternal: true)
        if names.contains(name) {
            throw SluiceError.failure(
                .topicExists, "topic '\(name)' already exists",
                remedy: "choose another name for the new topic, or delete that one first")
        }
        if let other = names.first(where: { TopicName.collides($0, name) }) {
            throw SluiceError.usage(
                .invalidName, "topic '\(name)' collides with existing topic '\(other)'",
                remedy: "Kafka treats '.' and '_' alike in topic names; choose another name")
        }
    }

    /// Refuses a copy the file system cannot hold.
    static func requireSpace(_ directory: DataDirectory, _ plan: RedistributionPlan) throws {
        let factor = plan.record.provenance ? provenanceOverhead : 1.0
        let needed = Int64(Double(plan.backlogBytes) * factor)
        guard let free = FileSystem.freeBytes(near: directory.path), needed > free else { return }
        throw SluiceError.failure(
            .noSpace,
            """
            copying the backlog of topic '\(plan.record.sourceTopic)' needs about \(ByteCount.format(needed)); \
            \(ByteCount.format(free)) are free on the file system of \(directory.path)
            """,
            remedy: "free some space first")
    }

    /// The target topic of a record: created on the first run (the record,
    /// saved before, names it), adopted when a crash came between its
    /// creation and the record's update, and checked to be the same topic afterwards.
    static func ensureTarget(
        _ directory: DataDirectory, _ record: inout RedistributionRecord, config: TopicConfig,
        store: RedistributionStore
    ) throws -> Topic {
        let name = record.targetTopic
        if let id = record.targetTopicID {
            guard let topic = try directory.existingTopic(name), topic.metadata.id == id else {
                throw SluiceError.failure(
                    .redistributionConflict, "topic '\(name)' of redistribution '\(record.name)' was deleted or replaced",
                    remedy: "finish it with 'sluice redistribute finish \(record.name) --force' and start again")
            }
            return topic
        }
        let topic: Topic
        if let existing = try directory.existingTopic(name) {
            guard try isAdoptable(existing, by: record) else {
                throw SluiceError.failure(
                    .topicExists, "topic '\(name)' already exists and was not created by '\(record.name)'",
                    remedy: "delete it, or finish '\(record.name)' with --force and choose another name")
            }
            topic = existing
        } else {
            _ = try DeletedTopicOffsets.forget(name, in: LocalStore(directory))
            topic = try directory.createTopic(name, partitions: record.targetPartitions, config: config)
        }
        record.targetTopicID = topic.metadata.id
        try store.save(&record)
        return topic
    }
}

extension RedistributionPlan {
    /// The plan of an existing record (what `start --json` prints after running).
    public static func of(_ record: RedistributionRecord, in directory: DataDirectory) throws -> RedistributionPlan {
        try RecordPlanning.describe(record, source: directory.topic(record.sourceTopic), resuming: false)
    }
}
