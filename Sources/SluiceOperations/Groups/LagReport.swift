import SluiceCore
import SluiceStore

/// One partition of one group: where the group stands and how it is doing.
public struct PartitionLag: Sendable {
    public var partition: Int
    public var committed: Int64?
    public var logStart: Int64?
    public var logEnd: Int64?
    /// Log-end offset minus committed offset (nil when either is unknown).
    public var lag: Int64?
    /// Age of the oldest unconsumed record: now minus the timestamp of the
    /// record at the committed offset (0 when caught up).
    public var lagMillis: Int64?
    public var lastCommit: Int64?
    /// Records per second consumed and produced over the last commits.
    public var consumeRate: Double?
    public var produceRate: Double?
    /// Time to catch up at the net rate (nil: not catching up, or unknown).
    public var etaMillis: Int64?
    public var status: LagStatus
    /// Who holds the partition's lease (when asked for, and the group is active).
    public var holder: HolderInfo?
    public var samples: [CommitSample]
}

/// One topic of one group, with totals over its partitions.
public struct TopicLag: Sendable {
    public var topic: String
    /// false when the topic was deleted after the group committed on it.
    public var exists: Bool
    public var partitions: [PartitionLag]
    /// Total lag at the group's last commits, oldest first, ending with the lag now.
    public var trend: [Int64]

    /// Total lag over the partitions whose lag is known, nil when none is.
    public var lag: Int64? {
        let known = partitions.compactMap(\.lag)
        return known.isEmpty ? nil : known.saturatingSum()
    }
    public var lagMillis: Int64? { partitions.compactMap(\.lagMillis).max() }
    public var consumeRate: Double? { sum(partitions.compactMap(\.consumeRate)) }
    public var produceRate: Double? { sum(partitions.compactMap(\.produceRate)) }
    public var lastCommit: Int64? { partitions.compactMap(\.lastCommit).max() }
    public var status: LagStatus { partitions.map(\.status).max { $0.severity < $1.severity } ?? .unknown }
    public var etaMillis: Int64? {
        guard let lag, status != .stopped, status != .stalled else { return nil }
        return CommitRates.eta(lag: lag, consumed: consumeRate, produced: produceRate)
    }

    private func sum(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) }
}

public struct GroupLag: Sendable {
    public var group: String
    public var active: Bool
    public var topics: [TopicLag]
    /// Total lag over the topics whose lag is known, nil when none is (its topics were deleted, say).
    public var lag: Int64? {
        let known = topics.compactMap(\.lag)
        return known.isEmpty ? nil : known.saturatingSum()
    }
    public var status: LagStatus { topics.map(\.status).max { $0.severity < $1.severity } ?? .unknown }
}

/// `sluice lag` and `group describe`/`group list`: per partition of each
/// group the committed offset, log-end offset, lag in records and in time,
/// rates, ETA and status. The cost is O(groups × partitions): the committed
/// offsets come from the offsets snapshot plus its short tail, log ends from
/// each partition's tail, and lag in time from one index lookup and one small
/// read per partition — never from the backlog.
public struct LagReport: Sendable {
    public struct Options: Sendable {
        /// Groups to report (empty: every group with committed offsets).
        public var groups: [String] = []
        /// Topics to report (empty: every topic the groups committed on).
        public var topics: [String] = []
        public var now: Int64 = WallClock.nowMillis()
        public var stallAfterMillis: Int64 = 300_000
        /// Look up the record timestamps for lag in time.
        public var times = true
        /// Name the lease holder of each partition.
        public var holders = false
        public init() {}
    }

    public var generatedAt: Int64
    public var groups: [GroupLag]

    public static func make(_ store: Store, _ options: Options) throws -> LagReport {
        let committed = try committedOffsets(store, options.groups)
        var names = Set(options.topics)
        for offsets in committed.values { names.formUnion(offsets.keys.map(\.topic)) }
        let layouts = try store.layouts(of: names.sorted())
        for topic in options.topics
        where layouts[topic] == nil && !committed.values.contains(where: { $0.keys.contains { $0.topic == topic } }) {
            throw SluiceError.failure(
                .unknownTopic, "topic '\(topic.printable)' does not exist and no group has offsets on it",
                remedy: "list topics with 'sluice topic list'")
        }
        let active = try store.activeGroups(committed.keys.sorted())
        var scopes: [String: [String: [Int]]] = [:]
        for (group, offsets) in committed {
            var topics = Set(offsets.keys.map(\.topic))
            if !options.topics.isEmpty { topics.formIntersection(options.topics) }
            for name in topics {
                scopes[group, default: [:]][name] = Set(layouts[name]?.partitions ?? []).union(
                    offsets.keys.filter { $0.topic == name }.map(\.partition)
                ).sorted()
            }
        }
        let keys = scopes.values.flatMap { $0.flatMap { name, partitions in partitions.map { TopicPartition(name, $0) } } }
        let ranges = try store.offsetRanges(Array(Set(keys)))
        var groups: [GroupLag] = []
        for (group, offsets) in committed.sorted(by: { $0.key < $1.key }) {
            let scope = scopes[group] ?? [:]
            let holders =
                active.contains(group)
                ? try store.partitionHolders(of: group, scope.flatMap { name, partitions in partitions.map { TopicPartition(name, $0) } })
                : [:]
            let topics = scope.keys.sorted().map { name in
                topicLag(name, exists: layouts[name] != nil, partitions: scope[name]!, offsets, ranges, holders: holders, options)
            }
            if !options.topics.isEmpty && topics.isEmpty { continue }
            groups.append(GroupLag(group: group, active: active.contains(group), topics: topics))
        }
        if options.times { try fillLagTimes(&groups, store, now: options.now) }
        return LagReport(generatedAt: options.now, groups: groups)
    }

    /// Every group's committed offsets, or the named groups'; a named group
    /// with none is unknown unless consumers are running in it.
    private static func committedOffsets(_ store: Store, _ groups: [String]) throws -> [String: [TopicPartition: CommittedOffset]] {
        guard !groups.isEmpty else { return try store.allCommittedOffsets() }
        let committed = try store.committedOffsets(of: groups)
        let empty = groups.filter { committed[$0]?.isEmpty ?? true }
        let active = try store.activeGroups(empty)
        if let unknown = empty.first(where: { !active.contains($0) }) { throw store.unknownGroup(unknown) }
        return committed
    }

    /// Lag in time: per partition, the timestamps at every group's committed
    /// offset, looked up together.
    private static func fillLagTimes(_ groups: inout [GroupLag], _ store: Store, now: Int64) throws {
        var wanted: [TopicPartition: Set<Int64>] = [:]
        for group in groups {
            for topic in group.topics {
                for row in topic.partitions where (row.lag ?? 0) > 0 {
                    wanted[TopicPartition(topic.topic, row.partition), default: []].insert(row.committed!)
                }
            }
        }
        let found = try store.timestamps(at: wanted)
        for g in groups.indices {
            for t in groups[g].topics.indices {
                let name = groups[g].topics[t].topic
                for r in groups[g].topics[t].partitions.indices {
                    let row = groups[g].topics[t].partitions[r]
                    guard let lag = row.lag else { continue }
                    groups[g].topics[t].partitions[r].lagMillis =
                        lag == 0
                        ? 0
                        : found[TopicPartition(name, row.partition)]?[row.committed!].flatMap { Self.age(of: $0, now: now) }
                }
            }
        }
    }

    /// How old a record with `timestamp` is: nil for "no timestamp" (any
    /// negative value a broker's file may hold), 0 for one from the future.
    static func age(of timestamp: Int64, now: Int64) -> Int64? {
        timestamp >= 0 ? max(0, now - timestamp) : nil
    }

    private static func topicLag(
        _ name: String, exists: Bool, partitions indices: [Int], _ offsets: [TopicPartition: CommittedOffset],
        _ ranges: [TopicPartition: OffsetRange], holders: [TopicPartition: HolderInfo], _ options: Options
    ) -> TopicLag {
        var partitions: [PartitionLag] = []
        for p in indices {
            let key = TopicPartition(name, p)
            let entry = offsets[key]
            let range = ranges[key]
            var row = PartitionLag(
                partition: p, committed: entry?.offset, logStart: range?.start, logEnd: range?.end,
                lastCommit: entry?.commitTimestamp, status: .unknown, samples: entry?.samples ?? [])
            if let entry, let range { row.lag = max(0, range.end.subtractingSaturated(entry.offset)) }
            let holder = holders[key]
            if options.holders { row.holder = holder }
            let rates = CommitRates(row.samples)
            row.consumeRate = rates.consumed
            row.produceRate = rates.produced
            row.status = LagStatus.classify(
                lag: row.lag, samples: row.samples, leased: holder != nil, now: options.now,
                stallAfterMillis: options.stallAfterMillis)
            if row.status != .stopped && row.status != .stalled, let lag = row.lag {
                row.etaMillis = CommitRates.eta(lag: lag, consumed: rates.consumed, produced: rates.produced)
            }
            partitions.append(row)
        }
        return TopicLag(topic: name, exists: exists, partitions: partitions, trend: exists ? trend(partitions) : [])
    }

    /// The topic's total lag at up to 9 of its last commit times, then now:
    /// at each time, the sum over partitions of the lag their latest commit
    /// by then recorded.
    static func trend(_ partitions: [PartitionLag]) -> [Int64] {
        let now = partitions.compactMap(\.lag).saturatingSum()
        var times: [Int64] = []
        for row in partitions {
            for sample in row.samples where sample.logEndOffset >= 0 && sample.byConsumer { times.append(sample.time) }
        }
        times.sort()
        times = times.enumerated().filter { $0.offset == 0 || times[$0.offset - 1] != $0.element }.map(\.element)
        let picks = times.count <= 9 ? times : (0..<9).map { times[(times.count - 1) * $0 / 8] }
        let points = picks.map { time in
            partitions.reduce(Int64(0)) { total, row in
                let sample = row.samples.last { $0.time <= time && $0.logEndOffset >= 0 && $0.byConsumer }
                return total.addingSaturated(sample.map { max(0, $0.logEndOffset.subtractingSaturated($0.offset)) } ?? 0)
            }
        }
        return points + [now]
    }

    // MARK: - thresholds

    /// Partitions above `--max-lag` or `--max-lag-seconds`, described.
    public func breaches(maxLag: Int64?, maxLagSeconds: Int64?, failOn: Set<LagStatus> = []) -> [String] {
        var found: [String] = []
        for group in groups {
            for topic in group.topics {
                for row in topic.partitions {
                    let name = "group '\(group.group)' \(topic.topic)-\(row.partition)"
                    if let maxLag, let lag = row.lag, lag > maxLag { found.append("\(name) lag \(lag) > \(maxLag)") }
                    if let maxLagSeconds, let millis = row.lagMillis, millis > maxLagSeconds * 1000 {
                        found.append("\(name) lag \(TimeParsing.formatDuration(millis)) > \(maxLagSeconds)s")
                    }
                    if failOn.contains(row.status) { found.append("\(name) is \(row.status.rawValue)") }
                }
            }
        }
        return found
    }

    // MARK: - JSON

    /// `lag --json`, schema version 1:
    ///
    ///     {"version": 1, "generated_at": ms,
    ///      "groups": [{"group", "state": "active"|"inactive", "lag", "status",
    ///        "topics": [{"topic", "topic_exists", "lag", "lag_ms", "consume_rate", "produce_rate",
    ///                    "eta_ms", "status", "last_commit", "trend": [lag...],
    ///          "partitions": [{"partition", "committed_offset", "log_start_offset", "log_end_offset",
    ///                          "lag", "lag_ms", "last_commit", "consume_rate", "produce_rate",
    ///                          "eta_ms", "status", "holder": {"member", "pid", "host", "since"}|null}]}]}]}
    ///
    /// Unknown values are null; rates are records per second; times are epoch ms.
    public var json: JSONValue {
        ["version": 1, "generated_at": .int(generatedAt), "groups": .array(groups.map(\.json))]
    }
}

extension GroupLag {
    public var jsonObject: [(String, JSONValue)] {
        [
            ("group", .string(group)), ("state", .string(active ? "active" : "inactive")), ("lag", JSONValue(lag)),
            ("status", .string(status.rawValue)), ("topics", .array(topics.map(\.json))),
        ]
    }

    var json: JSONValue { .object(jsonObject) }
}

extension TopicLag {
    var json: JSONValue {
        [
            "topic": .string(topic), "topic_exists": .bool(exists), "lag": JSONValue(lag), "lag_ms": JSONValue(lagMillis),
            "consume_rate": JSONValue.rate(consumeRate), "produce_rate": JSONValue.rate(produceRate), "eta_ms": JSONValue(etaMillis),
            "status": .string(status.rawValue), "last_commit": JSONValue(lastCommit), "trend": .array(trend.map { .int($0) }),
            "partitions": .array(partitions.map(\.json)),
        ]
    }
}

extension PartitionLag {
    var json: JSONValue {
        [
            "partition": JSONValue(partition), "committed_offset": JSONValue(committed), "log_start_offset": JSONValue(logStart),
            "log_end_offset": JSONValue(logEnd), "lag": JSONValue(lag), "lag_ms": JSONValue(lagMillis),
            "last_commit": JSONValue(lastCommit),
            "consume_rate": JSONValue.rate(consumeRate), "produce_rate": JSONValue.rate(produceRate), "eta_ms": JSONValue(etaMillis),
            "status": .string(status.rawValue), "holder": holder.map(\.json) ?? .null,
        ]
    }
}

extension HolderInfo {
    public var json: JSONValue {
        ["member": .string(member), "pid": JSONValue(Int(pid)), "host": .string(host), "since": .int(since)]
    }
}

extension JSONValue {
    /// A rate rounded to 3 decimals, or null.
    static func rate(_ value: Double?) -> JSONValue {
        value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null
    }
}
