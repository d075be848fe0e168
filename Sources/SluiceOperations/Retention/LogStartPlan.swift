import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

/// A group that would lose records it has not consumed: its committed
/// offset lies below a partition's new log start.
public struct UnconsumedLoss: Sendable {
    public var group: String
    public var topic: String
    public var partition: Int
    public var committed: Int64
    public var newLogStart: Int64

    /// Records the group has not consumed that the move deletes.
    public var records: Int64 { newLogStart - committed }

    public var json: JSONValue {
        [
            "group": .string(group), "topic": .string(topic), "partition": JSONValue(partition), "committed_offset": .int(committed),
            "new_log_start_offset": .int(newLogStart), "records": .int(records),
        ]
    }
}

/// One partition's planned log-start move.
public struct LogStartMove: Sendable {
    public let partition: Partition
    public var logStart: Int64
    public var logEnd: Int64
    public var newLogStart: Int64
    /// The segments the move deletes: base offset and bytes of their three files.
    public var segments: [(baseOffset: Int64, bytes: Int64)]
    /// Why (retention): the rules that delete the segments, in order, without repeats.
    public var rules: [RetentionPolicy.Rule]
    /// Groups that would lose unconsumed records (with --keep-unconsumed: that kept segments back).
    public var losses: [UnconsumedLoss]
    /// Segments the rules would delete that --keep-unconsumed keeps.
    public var keptSegments: Int

    public var records: Int64 { newLogStart - logStart }
    public var bytes: Int64 { segments.reduce(0) { $0 + $1.bytes } }
    public var changes: Bool { newLogStart > logStart || !segments.isEmpty }
}

/// What `retention` and `delete-records` plan, show and (with --execute)
/// carry out: per partition a new log start and the segments wholly below
/// it, the groups that would lose records they have not consumed, and the
/// bytes freed. Executing moves one partition at a time through
/// `DataDirectory.advanceLogStart` (checkpoint, then unlink), so an
/// interrupted run leaves every partition consistent and a re-run finishes it.
public struct LogStartPlan: Sendable {
    public enum Operation: String, Sendable {
        case retention
        case deleteRecords = "delete-records"
    }

    public let operation: Operation
    public var moves: [LogStartMove]

    public var losses: [UnconsumedLoss] { moves.flatMap(\.losses) }
    public var bytes: Int64 { moves.reduce(0) { $0 + $1.bytes } }
    public var records: Int64 { moves.reduce(0) { $0 + $1.records } }

    /// `__consumer_offsets` keeps its own history retention (`OffsetsStore`),
    /// which carries every group's latest offsets forward before deleting:
    /// deleting its segments from outside would lose committed offsets.
    static func requireUserTopic(_ name: String, _ operation: Operation) throws {
        try TopicName.requireUserTopic(
            name, for: operation.rawValue, never: "deletes records of",
            remedy: name == OffsetsStore.topicName
                ? """
                group offset history is kept for the retention.ms of \(name) and trimmed by \
                sluice itself; change it with 'sluice topic alter \(name) -c retention.ms=DURATION'
                """
                : "name a topic of your own")
    }

    // MARK: - retention

    /// Kafka's retention of `topics` (all but internal ones when empty), as of `now`.
    public static func retention(
        _ directory: DataDirectory, topics: [String], now: Int64, keepUnconsumed: Bool,
        groups: GroupOffsetStore
    ) throws -> LogStartPlan {
        for name in topics { try requireUserTopic(name, .retention) }
        var moves: [LogStartMove] = []
        for name in topics.isEmpty ? try directory.topicNames() : topics {
            let topic = try directory.topic(name)
            let committed = try groups.committedOffsets(topic: name)
            for partition in try topic.partitions() where try FileSystem.isDirectory(partition.directory) {
                moves.append(
                    try retentionMove(partition, config: topic.config, now: now, committed: committed, keepUnconsumed: keepUnconsumed))
            }
        }
        return LogStartPlan(operation: .retention, moves: moves)
    }

    private static func retentionMove(
        _ partition: Partition, config: TopicConfig, now: Int64,
        committed: [String: [Int: Int64]], keepUnconsumed: Bool
    ) throws -> LogStartMove {
        let segments = try partition.segments()
        let (start, end) = try partition.currentOffsetRange(segments: segments)
        var rules = try RetentionPolicy.deletions(
            try RetentionPolicy.facts(of: partition, segments), logStart: start,
            retentionBytes: config.retentionBytes, retentionMs: config.retentionMs, now: now)
        let behind = committed.compactMap { group, offsets in offsets[partition.index].map { (group, $0) } }
        var kept = 0
        if keepUnconsumed, let lowest = behind.map(\.1).min() {
            while !rules.isEmpty && max(segments[rules.count].baseOffset, start) > max(lowest, start) {
                rules.removeLast()
                kept += 1
            }
        }
        let newStart = rules.isEmpty ? start : max(segments[rules.count].baseOffset, start)
        var move = try makeMove(partition, start: start, end: end, newStart: newStart, segments: segments, behind: behind)
        var unique: [RetentionPolicy.Rule] = []
        for rule in rules where !unique.contains(rule) { unique.append(rule) }
        move.rules = unique
        move.keptSegments = kept
        return move
    }

    // MARK: - delete-records

    /// Where `delete-records --before` moves a log start.
    public enum Boundary: Sendable, Equatable {
        /// Records below this offset are deleted.
        case offset(Int64)
        /// Records older than this time (epoch ms) are deleted: the new start
        /// is the first offset at or after it (the log end when all are older).
        case time(Int64)

        /// An offset (digits), or a time: `@TIME` or an ISO-8601 time.
        public static func parse(_ text: String, now: Int64) throws -> Boundary {
            if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                guard let offset = Int64(text) else {
                    throw SluiceError.usage(
                        .invalidArgument, "offset '\(text.printable)' is out of range", remedy: "use an offset below 2^63")
                }
                return .offset(offset)
            }
            return .time(try TimeParsing.parseTime(text.hasPrefix("@") ? String(text.dropFirst()) : text, now: now))
        }
    }

    /// Kafka's delete-records: each partition's log start moves to the boundary.
    public static func deleteRecords(
        _ topic: Topic, partitions: [Int], before boundary: Boundary,
        groups: GroupOffsetStore
    ) throws -> LogStartPlan {
        try requireUserTopic(topic.name, .deleteRecords)
        let committed = try groups.committedOffsets(topic: topic.name)
        var moves: [LogStartMove] = []
        for index in partitions.isEmpty ? topic.partitionIndices : partitions {
            let partition = try topic.partition(index)
            let segments = try partition.segments()
            let (start, end) = try partition.currentOffsetRange(segments: segments)
            let target: Int64
            switch boundary {
            case .offset(let offset):
                guard offset <= end else {
                    throw SluiceError.usage(
                        .offsetOutOfRange,
                        "cannot delete records before offset \(offset) of partition \(partition.name): its log ends at \(end)",
                        remedy: "give an offset from \(start) to \(end)")
                }
                target = offset
            case .time(let time):
                target = try partition.offset(forTimestamp: time) ?? end
            }
            let behind = committed.compactMap { group, offsets in offsets[index].map { (group, $0) } }
            moves.append(try makeMove(partition, start: start, end: end, newStart: max(target, start), segments: segments, behind: behind))
        }
        return LogStartPlan(operation: .deleteRecords, moves: moves)
    }

    /// A move to `newStart`: the segments wholly below it (never the last),
    /// and the groups whose committed offset it passes.
    private static func makeMove(
        _ partition: Partition, start: Int64, end: Int64, newStart: Int64, segments: [Segment],
        behind: [(String, Int64)]
    ) throws -> LogStartMove {
        var doomed: [(Int64, Int64)] = []
        var i = 0
        while i < segments.count - 1 && segments[i + 1].baseOffset <= newStart {
            let segment = segments[i]
            var bytes: Int64 = 0
            for file in [segment.logPath, segment.indexPath, segment.timeIndexPath] { bytes += try FileSystem.fileSize(file) ?? 0 }
            doomed.append((segment.baseOffset, bytes))
            i += 1
        }
        let losses = behind.filter { $0.1 < newStart && newStart > start }.sorted { $0.0 < $1.0 }.map {
            UnconsumedLoss(group: $0.0, topic: partition.topic, partition: partition.index, committed: $0.1, newLogStart: newStart)
        }
        return LogStartMove(
            partition: partition, logStart: start, logEnd: end, newLogStart: newStart, segments: doomed, rules: [],
            losses: losses, keptSegments: 0)
    }

    // MARK: - execution

    /// Carries the plan out, one partition at a time; stops between
    /// partitions when `shouldStop` says so. Returns what was done.
    public func execute(in directory: DataDirectory, shouldStop: () -> Bool) throws -> [LogStartChange] {
        var changes: [LogStartChange] = []
        for move in moves where move.changes {
            if shouldStop() {
                let freed = changes.reduce(0) { $0 + $1.freedBytes }
                throw SluiceError.failure(
                    .interrupted,
                    """
                    \(operation.rawValue) interrupted by \(Interruption.signalName) after \(changes.count) of \
                    \(moves.filter(\.changes).count) partitions (\(ByteCount.format(freed)) freed); every partition is consistent
                    """,
                    remedy: "run the same command again to finish")
            }
            changes.append(try directory.advanceLogStart(of: move.partition, to: move.newLogStart))
        }
        return changes
    }

    /// The JSON of `retention --json` and `delete-records --json` (schema
    /// version 1): `changes` are what was done when executed.
    public func json(executed changes: [LogStartChange]?) -> JSONValue {
        let done = Dictionary(uniqueKeysWithValues: (changes ?? []).map { ($0.partition, $0) })
        let partitions: [JSONValue] = moves.map { move in
            let change = done[move.partition.name]
            let segments = change.map { $0.deleted.map(\.baseOffset) } ?? move.segments.map(\.baseOffset)
            return [
                "topic": .string(move.partition.topic), "partition": JSONValue(move.partition.index),
                "log_start_offset": .int(move.logStart), "new_log_start_offset": .int(change?.newStart ?? move.newLogStart),
                "log_end_offset": .int(move.logEnd), "records_deleted": .int((change?.newStart ?? move.newLogStart) - move.logStart),
                "segments_deleted": .array(segments.map { .int($0) }), "bytes_freed": .int(change?.freedBytes ?? move.bytes),
                "rules": .array(move.rules.map { .string($0.rawValue) }), "segments_kept_for_groups": JSONValue(move.keptSegments),
            ]
        }
        return [
            "version": 1, "operation": .string(operation.rawValue), "executed": .bool(changes != nil),
            "records_deleted": .int(changes.map { $0.reduce(0) { $0 + $1.newStart - $1.previousStart } } ?? records),
            "bytes_freed": .int(changes.map { $0.reduce(0) { $0 + $1.freedBytes } } ?? bytes),
            "partitions": .array(partitions), "groups_losing_records": .array(losses.map(\.json)),
        ]
    }
}
