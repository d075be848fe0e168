import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

/// Where `group seek` moves each partition: exactly one target.
public enum SeekTarget: Equatable, Sendable {
    /// Kafka's --to-earliest (seekToBeginning): the log start.
    case earliest
    /// --to-latest (seekToEnd): the log end.
    case latest
    case offset(Int64)
    /// The first offset whose timestamp is at or after the time (the log end if none).
    case datetime(Int64)
    /// --by-duration: the first offset at or after now minus the duration.
    case byDuration(Int64)
    /// The committed offset plus N (N may be negative).
    case shiftBy(Int64)
    /// The committed offset itself (re-commits it).
    case current
    /// The offsets of a plan saved with --export.
    case file([TopicPartition: Int64])

    /// What `sluice.detail` records for the change.
    public var detail: String {
        switch self {
        case .earliest: return "--to-earliest"
        case .latest: return "--to-latest"
        case .offset(let n): return "--to-offset \(n)"
        case .datetime(let t): return "--to-datetime \(TimeParsing.formatISO8601(t))"
        case .byDuration(let d): return "--by-duration \(TimeParsing.formatDuration(d))"
        case .shiftBy(let n): return "--shift-by \(n)"
        case .current: return "--to-current"
        case .file: return "--from-file"
        }
    }
}

/// Which partitions a seek or rollback covers: `--topic T` (every
/// partition), `--topic T:0,2,5`, or every topic the group committed on.
public enum OffsetScope: Equatable, Sendable {
    case topics([(String, [Int]?)])
    case allTopics

    public static func == (a: OffsetScope, b: OffsetScope) -> Bool {
        switch (a, b) {
        case (.allTopics, .allTopics): return true
        case (.topics(let x), .topics(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Parses `--topic` values: `T`, `T:0,2,5`, or with ranges, `T:0-5,8`.
    public static func parse(_ values: [String]) throws -> OffsetScope {
        try .topics(
            values.map { value in
                guard let colon = value.firstIndex(of: ":") else { return (value, nil) }
                let list = value[value.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false)
                let ranges = list.map(partitionRange)
                guard !list.isEmpty, ranges.allSatisfy({ $0 != nil }) else {
                    throw SluiceError.usage(
                        .invalidArgument, "invalid --topic '\(value.printable)'",
                        remedy: "write TOPIC or TOPIC:P,P,... with partition numbers or ranges, e.g. orders:0,2,5 or orders:0-5")
                }
                return (String(value[..<colon]), ranges.flatMap { $0! })
            })
    }

    /// `P` or `P-Q` (both included), partition numbers from 0 up to the most a topic may have.
    private static func partitionRange(_ text: Substring) -> ClosedRange<Int>? {
        let ends = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0) }
        guard let first = ends.first ?? nil, let last = ends.last ?? nil, first >= 0, last >= first, last < DataDirectory.maxPartitions
        else { return nil }
        return first...last
    }

    /// The partitions covered, checked against the topics; `committed` gives `allTopics` its topics.
    func resolve(_ store: Store, committed: [TopicPartition: CommittedOffset]) throws -> [TopicPartition] {
        switch self {
        case .allTopics:
            let names = Set(committed.keys.map(\.topic)).sorted()
            let layouts = try store.layouts(of: names)
            var keys: [TopicPartition] = []
            for name in names {
                guard let layout = layouts[name] else {
                    Diagnostics.warn("skipping topic '\(name)': it no longer exists")
                    continue
                }
                keys += layout.keys
            }
            return keys
        case .topics(let list):
            let layouts = try store.layouts(of: list.map(\.0))
            var keys: [TopicPartition] = []
            for (name, partitions) in list {
                guard let layout = layouts[name] else { throw store.unknownTopic(name) }
                for p in partitions ?? layout.partitions {
                    try layout.require(p)
                    keys.append(TopicPartition(name, p))
                }
            }
            return Array(Set(keys)).sorted()
        }
    }
}

/// A change to a group's offsets, planned before it is applied: per
/// partition the current committed offset and the target (nil removes the
/// committed offset). Seek, rollback and delete all make one; `apply`
/// commits it as one batch.
public struct OffsetPlan: Sendable {
    public struct Row: Sendable, Equatable {
        public var topicPartition: TopicPartition
        public var current: Int64?
        public var target: Int64?
        public var logEnd: Int64?
        /// The target change, nil when either side is absent.
        public var change: Int64? { current.flatMap { c in target.map { $0 - c } } }
        public var changes: Bool { current != target }
    }

    public let group: String
    public let operation: CommitOperation
    public let detail: String
    public var rows: [Row]

    // MARK: - seek

    /// Plans a seek. Targets outside [log start, log end] are clamped, with a
    /// warning naming each; partitions a relative target cannot apply to (no
    /// committed offset) are left out with a warning.
    public static func seek(
        _ store: Store, group: String, target: SeekTarget, scope: OffsetScope?,
        now: Int64 = WallClock.nowMillis()
    ) throws -> OffsetPlan {
        let committed = try store.committedOffsets(of: group)
        var keys: [TopicPartition]
        if case .file(let saved) = target {
            keys = saved.keys.sorted()
            if let scope { keys = keys.filter(Set(try scope.resolve(store, committed: committed)).contains) }
        } else {
            keys = try (scope ?? .allTopics).resolve(store, committed: committed)
        }
        if keys.isEmpty, committed.isEmpty, scope == nil || scope == .allTopics { throw store.unknownGroup(group) }
        if committed.isEmpty {
            // A typo'd name would otherwise make a new group silently: a warning when one is named like it, else a notice.
            let close = store.closeGroups(to: group)
            let message = "group '\(group.printable)' has no committed offsets: this seek creates the group\(close)"
            if close.isEmpty { StandardErrorLog.notice(message) } else { Diagnostics.warn(message) }
        }
        let ranges = try requireRanges(store, keys)
        let timeTargets = try timeTargets(store, target: target, keys: keys, now: now)
        var rows: [Row] = []
        var skipped: [String] = []
        for key in keys {
            let range = ranges[key]!
            let current = committed[key]?.offset
            let requested: Int64
            switch target {
            case .earliest: requested = range.start
            case .latest: requested = range.end
            case .offset(let n): requested = n
            case .datetime, .byDuration: requested = timeTargets[key] ?? range.end
            case .shiftBy(let n):
                guard let current else { skipped.append(key.description); continue }
                requested = current.addingReportingOverflow(n).overflow ? (n < 0 ? Int64.min : Int64.max) : current + n
            case .current:
                guard let current else { skipped.append(key.description); continue }
                requested = current
            case .file(let saved): requested = saved[key]!
            }
            let clamped = range.clamp(requested)
            if clamped != requested {
                Diagnostics.warn(
                    """
                    \(key): target offset \(requested) is \
                    \(requested < range.start ? "before the log start" : "after the log end") \(clamped); using \(clamped)
                    """
                )
            }
            rows.append(Row(topicPartition: key, current: current, target: clamped, logEnd: range.end))
        }
        if !skipped.isEmpty {
            Diagnostics.warn(
                """
                group '\(group.printable)' has no committed offset for \(skipped.joined(separator: ", ")); \
                \(target.detail) leaves \(skipped.count == 1 ? "it" : "them") out
                """
            )
        }
        return OffsetPlan(group: group, operation: .seek, detail: target.detail, rows: rows)
    }

    /// The offset ranges of partitions that must exist: unknown topics and
    /// partitions are errors, checked in order.
    private static func requireRanges(_ store: Store, _ keys: [TopicPartition]) throws -> [TopicPartition: OffsetRange] {
        let layouts = try store.layouts(of: Array(Set(keys.map(\.topic))))
        let ranges = try store.offsetRanges(keys)
        for key in keys {
            guard let layout = layouts[key.topic] else { throw store.unknownTopic(key.topic) }
            try layout.require(key.partition)
            guard ranges[key] != nil else { throw store.unavailable(key) }
        }
        return ranges
    }

    /// The first offsets at or after a time target (absent: none, the log end).
    private static func timeTargets(_ store: Store, target: SeekTarget, keys: [TopicPartition], now: Int64) throws -> [TopicPartition:
        Int64]
    {
        let time: Int64
        switch target {
        case .datetime(let t): time = t
        case .byDuration(let d): time = now - d
        default: return [:]
        }
        return try store.offsets(atOrAfter: Dictionary(uniqueKeysWithValues: keys.map { ($0, time) }))
    }

    // MARK: - rollback

    public enum RollbackPoint: Equatable, Sendable {
        /// The offsets as they were at this time.
        case time(Int64)
        /// The offsets as they were before the last N administrative changes (seek, rollback, delete).
        case steps(Int)
    }

    /// Plans restoring the offsets a group had at an earlier point, from its
    /// history in the offsets log: partitions it had no offset for then lose
    /// theirs. `scope` limits it to some topics.
    public static func rollback(_ store: Store, group: String, to point: RollbackPoint, scope: OffsetScope?) throws -> OffsetPlan {
        let history = try store.history(of: group)
        let current = try store.committedOffsets(of: group)
        guard !history.events.isEmpty else { throw store.unknownGroup(group) }
        let include: (CommitEvent) -> Bool
        let detail: String
        switch point {
        case .time(let time):
            if let kept = history.keptSince, time < kept {
                throw SluiceError.failure(
                    .historyPruned, "the history of group '\(group.printable)' before \(TimeParsing.formatISO8601(kept)) is no longer kept",
                    remedy: "\(store.historyRetention); roll back to a later time")
            }
            // Carried-forward (retain) records stand for commits made before the history kept.
            include = { $0.annotations.operation == .retain ? ($0.value?.commitTimestamp ?? .min) <= time : $0.timestamp <= time }
            detail = "--to-commit-at \(TimeParsing.formatISO8601(time))"
        case .steps(let n):
            var changes: [(id: String, offset: Int64)] = []
            for event in history.events where event.annotations.operation.isAdministrative {
                let id = event.annotations.operationID ?? "offset \(event.logOffset)"
                if changes.last?.id != id { changes.append((id, event.logOffset)) }
            }
            guard n <= changes.count else {
                throw SluiceError.failure(
                    .historyPruned,
                    """
                    group '\(group.printable)' has \(changes.count) administrative \
                    change\(changes.count == 1 ? "" : "s") (seek, rollback, delete) in its history; cannot undo \(n)
                    """,
                    remedy: "see them with 'sluice group history \(group)'")
            }
            let cut = changes[changes.count - n].offset
            include = { $0.annotations.operation == .retain || $0.logOffset < cut }
            detail = "--steps \(n)"
        }
        var then: [TopicPartition: Int64] = [:]
        for event in history.events where include(event) { then[event.topicPartition] = event.value?.offset }
        guard !then.isEmpty else {
            throw SluiceError.failure(
                .historyPruned,
                """
                group '\(group.printable)' had no committed offsets then (its history \
                starts at \(TimeParsing.formatISO8601(history.events[0].timestamp)))
                """,
                remedy: "roll back to a later point; 'sluice group delete' removes every offset")
        }
        var keys = Set(then.keys).union(current.keys)
        if let scope { keys.formIntersection(try scope.resolve(store, committed: current)) }
        let ranges = try store.offsetRanges(Array(keys))
        var rows: [Row] = []
        for key in keys.sorted() {
            var target = then[key]
            let range = ranges[key]
            if let requested = target, let range, range.clamp(requested) != requested {
                target = range.clamp(requested)
                Diagnostics.warn("\(key): restored offset \(requested) is outside the log [\(range.start), \(range.end)]; using \(target!)")
            }
            rows.append(Row(topicPartition: key, current: current[key]?.offset, target: target, logEnd: range?.end))
        }
        return OffsetPlan(group: group, operation: .rollback, detail: detail, rows: rows)
    }

    // MARK: - delete

    /// Plans removing every committed offset of a group.
    public static func delete(_ store: Store, group: String) throws -> OffsetPlan {
        let committed = try store.committedOffsets(of: group)
        guard !committed.isEmpty else { throw store.unknownGroup(group) }
        return OffsetPlan(
            group: group, operation: .delete, detail: "group delete",
            rows: committed.keys.sorted().map { Row(topicPartition: $0, current: committed[$0]!.offset, target: nil, logEnd: nil) })
    }

    // MARK: - applying

    /// The rows that change something.
    public var changingRows: [Row] { rows.filter(\.changes) }

    /// Commits the plan's changes as one batch (one atomic step), recording
    /// the previous offsets in the history.
    public func apply(_ store: Store, holder: HolderInfo = .administrator()) throws {
        let changes = changingRows.map {
            OffsetChange($0.topicPartition, offset: $0.target, previousOffset: $0.current, logEndOffset: $0.target == nil ? nil : $0.logEnd)
        }
        try store.commit(
            group: group, changes: changes, annotations: CommitAnnotations(operation: operation, member: holder.member, detail: detail))
    }

    /// The partitions the plan covers (the leases to hold while applying it).
    public var scope: [TopicPartition] { rows.map(\.topicPartition) }

    /// `group seek|rollback --json`, schema version 1: {"version": 1, "group", "operation",
    /// "detail", "executed", "partitions": [{"topic", "partition", "current", "target", "change"}]}
    /// (null current: none committed; null target: the offset is removed).
    public func json(executed: Bool) -> JSONValue {
        [
            "version": 1, "group": .string(group), "operation": .string(operation.rawValue), "detail": .string(detail),
            "executed": .bool(executed),
            "partitions": .array(
                rows.map { row in
                    [
                        "topic": .string(row.topicPartition.topic), "partition": JSONValue(row.topicPartition.partition),
                        "current": JSONValue(row.current), "target": JSONValue(row.target), "change": JSONValue(row.change),
                    ]
                }),
        ]
    }

    // MARK: - Kafka's CSV

    /// The plan as Kafka's `--export` CSV: `topic,partition,offset` per line
    /// (rows that would remove an offset have none to export).
    public var csv: String {
        rows.compactMap { row in row.target.map { "\(row.topicPartition.topic),\(row.topicPartition.partition),\($0)\n" } }.joined()
    }

    /// Reads a plan file: Kafka's `topic,partition,offset` lines, or its
    /// multi-group `group,topic,partition,offset` lines for `group`. Blank
    /// lines are skipped; anything else malformed is a usage error naming the line.
    public static func parseCSV(_ text: String, group: String, file: String) throws -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            guard !line.allSatisfy({ $0 == " " || $0 == "\t" }) else { continue }
            func bad(_ why: String) -> SluiceError {
                .usage(
                    .invalidArgument, "line \(n + 1) of \(file): \(why)",
                    remedy: "each line must be topic,partition,offset (Kafka's reset-offsets CSV)")
            }
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            }
            if fields.count == 4 {
                guard fields[0] == group else { throw bad("it is for group '\(fields[0].printable)', not '\(group.printable)'") }
                fields.removeFirst()
            }
            guard fields.count == 3 else { throw bad("expected 3 comma-separated fields, found \(fields.count)") }
            do { try TopicName.validate(fields[0], allowInternal: true) } catch let error as SluiceError { throw bad(error.message) }
            guard let partition = Int(fields[1]), partition >= 0 else { throw bad("'\(fields[1].printable)' is not a partition number") }
            guard let offset = Int64(fields[2]), offset >= 0 else { throw bad("'\(fields[2].printable)' is not an offset") }
            let key = TopicPartition(fields[0], partition)
            guard offsets[key] == nil else { throw bad("\(key) appears twice") }
            offsets[key] = offset
        }
        guard !offsets.isEmpty else {
            throw SluiceError.usage(.invalidArgument, "\(file) holds no offsets", remedy: "each line must be topic,partition,offset")
        }
        return offsets
    }

    /// Refuses a saved plan when the group's offsets changed after the plan
    /// file was written (its modification time), unless forced.
    public static func checkNotStale(_ saved: [TopicPartition: Int64], group: String, file: String, writtenAt: Int64, store: Store) throws {
        let committed = try store.committedOffsets(of: group)
        let moved = saved.keys.filter { (committed[$0]?.commitTimestamp ?? .min) > writtenAt }.sorted()
        guard !moved.isEmpty else { return }
        throw SluiceError.checkFailed(
            .stalePlan,
            """
            the offsets of group '\(group.printable)' changed after \(file) \
            was written (\(moved.map(\.description).joined(separator: ", ")))
            """,
            remedy: "make a new plan with --export, or pass --force to apply this one anyway")
    }
}

extension SluiceError.Reason {
    public static let historyPruned = Self("history-pruned")
    public static let stalePlan = Self("stale-plan")
}
