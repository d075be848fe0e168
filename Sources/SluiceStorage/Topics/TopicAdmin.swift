import KafkaFormat
import SluiceCore
import SluiceStore
import SluiceSystem

/// Topic creation, alteration and deletion. Each is atomic: the topic's
/// metadata file is the commit point, written (or removed) last with an atomic
/// rename, so a killed command leaves the topic as it was or as asked, never
/// half-made. Leftovers of a killed command (partition directories the metadata
/// does not name) are removed by the next administrative command.
extension DataDirectory {
    public static let maxPartitions = 100_000

    /// Runs `body` holding the data directory's admin lock.
    public func withAdminLock<T>(_ body: () throws -> T) throws -> T {
        try initializeIfNeeded()
        let lock = try FileLock.acquire(metaPath + "/admin.lock", what: "the data directory \(path) (topic administration)")
        defer { lock.release() }
        if try recoverAbandonedStaging() { try collectGarbage() }
        return try body()
    }

    @discardableResult
    public func createTopic(
        _ name: String, partitions: Int, config: TopicConfig = TopicConfig(),
        allowInternal: Bool = false
    ) throws -> Topic {
        try TopicName.validate(name, allowInternal: allowInternal)
        try Self.validatePartitionCount(partitions)
        try requireWritable("create topic '\(name)'")
        return try withAdminLock {
            try requireNewTopicName(name)
            let metadata = TopicMetadata(
                name: name, id: TopicMetadata.newID(), partitions: partitions, config: config,
                createdAt: WallClock.nowMillis())
            try leavingNothingOnFailure {
                for p in 0..<partitions { try createPartitionDirectory(metadata, p) }
                try FileSystem.syncDirectory(path)
                try forgetLogStarts(of: name)
                try FileSystem.writeAtomically(metadataPath(name), metadata.encode())
            }
            return try topic(name)
        }
    }

    /// The metadata of a topic to be built in a staging area and created with
    /// `createTopic(staged:in:)`; its partitions are staged with
    /// `stagePartitionDirectory`. Writing nothing, it also serves dry runs
    /// on directories sluice only reads (staging and creation check).
    public func prepareTopic(_ name: String, partitions: Int, config: TopicConfig) throws -> TopicMetadata {
        try TopicName.validate(name)
        try Self.validatePartitionCount(partitions)
        return TopicMetadata(
            name: name, id: TopicMetadata.newID(), partitions: partitions, config: config, createdAt: WallClock.nowMillis())
    }

    /// Creates `<topic>-<p>/` in the staging area with Kafka's `partition.metadata`; returns its path.
    public func stagePartitionDirectory(_ metadata: TopicMetadata, _ p: Int, in staging: StagingArea) throws -> String {
        let dir = "\(staging.path)/\(metadata.name)-\(p)"
        try FileSystem.makeDirectory(dir)
        try writePartitionMetadata(metadata, in: dir)
        return dir
    }

    /// Creates a topic from partition directories built in `staging`, all of
    /// them visible at once: the commit record, then the directories moved in,
    /// then the metadata. A process killed after the commit record is rolled
    /// forward by the next command (`recoverAbandonedStaging`).
    @discardableResult
    public func createTopic(staged metadata: TopicMetadata, in staging: StagingArea) throws -> Topic {
        try withAdminLock {
            try requireNewTopicName(metadata.name)
            try FileSystem.writeAtomically(staging.path + "/topic", metadata.encode())
            try staging.commit(.createTopic(name: metadata.name))
            try rollForwardCreation(of: metadata.name, from: staging)
            return try topic(metadata.name)
        }
    }

    /// Moves a committed staged topic into place (idempotent).
    func rollForwardCreation(of name: String, from staging: StagingArea) throws {
        let bytes = try FileSystem.readIfExists(staging.path + "/topic") ?? []
        let metadata = try TopicMetadata.decode(bytes, what: "staged metadata of topic '\(name)'")
        if let existing = try FileSystem.readIfExists(metadataPath(name)) {
            if (try? TopicMetadata.decode(existing, what: name).id) != metadata.id {
                Diagnostics.warn(
                    "a committed import of topic '\(name)' was not completed, and a topic of that name exists now; the import was dropped")
            }
            return
        }
        for p in 0..<metadata.partitions {
            let staged = "\(staging.path)/\(name)-\(p)"
            guard try FileSystem.exists(staged) else { continue }
            let target = partitionDirectory(name, p)
            if try FileSystem.exists(target) { try FileSystem.removeTree(target) }
            try FileSystem.rename(staged, to: target)
        }
        try FileSystem.syncDirectory(path)
        try forgetLogStarts(of: name)
        try FileSystem.removeTemporaries(of: metadataPath(name))
        try FileSystem.writeAtomically(metadataPath(name), bytes)
    }

    private func requireNewTopicName(_ name: String) throws {
        let existing = try topicNames(includeInternal: true)
        if existing.contains(name) {
            throw SluiceError.failure(.topicExists, "topic '\(name)' already exists", remedy: "pick another name, or delete it first")
        }
        if let other = existing.first(where: { TopicName.collides($0, name) }) {
            throw SluiceError.usage(
                .invalidName, "topic '\(name)' collides with existing topic '\(other)'",
                remedy: "Kafka treats '.' and '_' alike in topic names (their metrics collide); pick another name")
        }
    }

    /// Raises a topic's partition count. Kafka-style logs never shrink: the
    /// offsets of existing records, and the consumers' positions in them, are
    /// per partition, and keyed records would move.
    @discardableResult
    public func addPartitions(_ name: String, to count: Int) throws -> (old: Int, new: Int) {
        try requireWritable("alter topic '\(name)'")
        // Groups map to offsets partitions by their count: more would lose them.
        try TopicName.requireUserTopic(name, for: "adding partitions")
        try Self.validatePartitionCount(count)
        return try withAdminLock {
            var metadata = try topic(name).metadata
            let old = metadata.partitions
            try TopicLayout.requireGrowth(of: name, from: old, to: count)
            metadata.partitions = count
            try leavingNothingOnFailure {
                for p in old..<count { try createPartitionDirectory(metadata, p) }
                try FileSystem.syncDirectory(path)
                try FileSystem.writeAtomically(metadataPath(name), metadata.encode())
            }
            return (old, count)
        }
    }

    /// Applies `key=value` config changes; returns the new config.
    @discardableResult
    public func alterConfig(_ name: String, assignments: [String]) throws -> TopicConfig {
        try requireWritable("alter topic '\(name)'")
        var probe = TopicConfig()
        try probe.apply(assignments: assignments)
        return try withAdminLock {
            var metadata = try topic(name).metadata
            try metadata.config.apply(assignments: assignments)
            try FileSystem.writeAtomically(metadataPath(name), metadata.encode())
            return metadata.config
        }
    }

    /// Deletes a topic. Waits for in-flight appends (the partition locks), then
    /// removes the metadata (the commit point: the topic is gone), then the
    /// data and its recorded log starts (a killed delete leaves those to the
    /// next creation of the name).
    public func deleteTopic(_ name: String) throws {
        try requireWritable("delete topic '\(name)'")
        try TopicName.requireUserTopic(name, for: "topic delete")
        try withAdminLock {
            let topic = try self.topic(name)
            let locks = try topic.partitionIndices.compactMap { p -> FileLock? in
                let dir = partitionDirectory(name, p)
                guard try FileSystem.isDirectory(dir) else { return nil }
                return try FileLock.acquire(dir, what: "partition \(name)-\(p)", directory: true)
            }
            try FileSystem.removeFile(metadataPath(name))
            try FileSystem.syncDirectory(topicsPath)
            locks.forEach { $0.release() }
            try removePartitionDirectories(of: name)
            try forgetLogStarts(of: name)
        }
    }

    // MARK: - internals

    /// Runs the steps of a creation up to its commit point (the metadata);
    /// if one fails (a full disk, most often), the partition directories it
    /// made are removed at once rather than by the next administrative command.
    private func leavingNothingOnFailure(_ steps: () throws -> Void) throws {
        do {
            try steps()
        } catch {
            try? collectGarbage()
            throw error
        }
    }

    public static func validatePartitionCount(_ count: Int) throws {
        guard (1...maxPartitions).contains(count) else {
            throw SluiceError.usage(.invalidArgument, "invalid partition count \(count)", remedy: "use 1 to \(maxPartitions)")
        }
    }

    /// Creates `<topic>-<p>/` with an empty first segment and Kafka's
    /// `partition.metadata`, durably. An existing directory (a leftover of a
    /// killed create) is replaced.
    func createPartitionDirectory(_ metadata: TopicMetadata, _ p: Int) throws {
        let dir = partitionDirectory(metadata.name, p)
        if try FileSystem.exists(dir) { try FileSystem.removeTree(dir) }
        try FileSystem.makeDirectory(dir)
        let segment = Segment(directory: dir, baseOffset: 0)
        for file in [segment.logPath, segment.indexPath, segment.timeIndexPath] {
            let handle = try File.create(file)
            try handle.sync()
            try handle.close()
        }
        try writePartitionMetadata(metadata, in: dir)
    }

    /// Kafka's `partition.metadata` (the topic id), durably.
    private func writePartitionMetadata(_ metadata: TopicMetadata, in dir: String) throws {
        let handle = try File.create(dir + "/partition.metadata", access: .writeOnly)
        try handle.write(Array("version: 0\ntopic_id: \(metadata.id)\n".utf8), at: 0)
        try handle.sync()
        try handle.close()
        try FileSystem.syncDirectory(dir)
    }

    /// Removes partition directories the metadata does not account for: those
    /// of topics without metadata (a killed create or delete), those beyond the
    /// partition count (a killed alter), and Kafka-style `-delete` directories.
    func collectGarbage() throws {
        guard kind == .sluice else { return }
        var counts: [String: Int] = [:]
        for name in try FileSystem.list(path) {
            if name.hasSuffix("-delete") && name.contains(".") {
                try FileSystem.removeTree(path + "/" + name)
                continue
            }
            guard let (topic, p) = TopicName.parsePartitionDirectory(name) else { continue }
            if counts[topic] == nil { counts[topic] = try partitionCountForCollection(topic) }
            if p >= counts[topic]! {
                try FileSystem.removeTree(path + "/" + name)
            }
        }
    }

    /// The partition count garbage collection may trust: 0 when the topic has no
    /// metadata, its count when the metadata reads, and "keep everything" when
    /// the metadata is damaged (data is never removed on a guess).
    private func partitionCountForCollection(_ topic: String) throws -> Int {
        guard let bytes = try FileSystem.readIfExists(metadataPath(topic)) else { return 0 }
        return (try? TopicMetadata.decode(bytes, what: topic).partitions) ?? Int.max
    }

    /// Renames a topic's partition directories out of the way (Kafka's
    /// `-delete` suffix), then removes them.
    func removePartitionDirectories(of topic: String) throws {
        var doomed: [String] = []
        for name in try FileSystem.list(path) {
            guard let (t, _) = TopicName.parsePartitionDirectory(name), t == topic else { continue }
            // Cut like Kafka's: the suffix must fit a 255-byte name after a 249-character topic.
            let target = "\(path)/\(name.prefix(200)).\(UInt64.random(in: 0...UInt64.max))-delete"
            try FileSystem.rename(path + "/" + name, to: target)
            doomed.append(target)
        }
        try FileSystem.syncDirectory(path)
        for dir in doomed { try FileSystem.removeTree(dir) }
    }
}
