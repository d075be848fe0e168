import SluiceCore
import SluiceGroups
import SluiceLocal
import SluiceStorage
import SluiceStore

/// `redistribute status`: each redistribution and migration, its state, how
/// much of the temporary topic the drain group has consumed (per partition,
/// from the lag code) and how long the rest takes at the current rate.
public struct RedistributionStatus: Sendable {
    /// What `status` shows as the state: the stored phase, except that a
    /// handed-off redistribution whose drain group has consumed everything is `done`.
    public enum State: String, Sendable {
        case copying, draining, done, finishing, finished, migrated
    }

    public struct Entry: Sendable {
        public var record: RedistributionRecord
        public var state: State
        /// The drain group per temporary partition (empty once the topic is gone).
        public var partitions: [PartitionLag]
        /// Records of the temporary topic not yet consumed by the drain group.
        public var lag: Int64?
        public var drainRate: Double?
        /// Time until drained at the current rate, or until copied.
        public var etaMillis: Int64?

        /// Whether nothing is left to do but `finish` (or nothing at all).
        public var isDone: Bool { state == .done || state == .finished || state == .migrated }
    }

    public var entries: [Entry]

    public static func make(_ directory: DataDirectory, name: String?, now: Int64 = WallClock.nowMillis()) throws -> RedistributionStatus {
        let store = RedistributionStore(directory: directory)
        let records = try name.map { [try store.require($0)] } ?? store.all()
        return RedistributionStatus(entries: try records.map { try entry($0, directory, now: now) })
    }

    private static func entry(_ record: RedistributionRecord, _ directory: DataDirectory, now: Int64) throws -> Entry {
        var entry = Entry(
            record: record, state: State(rawValue: record.phase.rawValue)!, partitions: [], lag: nil, drainRate: nil, etaMillis: nil)
        if record.phase == .copying, let total = record.backlogRecords, record.updatedAt > record.createdAt, record.copiedRecords > 0 {
            let rate = Double(record.copiedRecords) / Double(record.updatedAt - record.createdAt)
            entry.etaMillis = Int64(durationMillis: (Double(total) - Double(record.copiedRecords)) / rate)
        }
        guard record.kind == .redistribution, record.phase == .copying || record.phase == .draining,
            let drain = record.drainGroup, try directory.existingTopic(record.targetTopic) != nil
        else { return entry }
        var options = LagReport.Options()
        options.groups = [drain]
        options.topics = [record.targetTopic]
        options.times = false
        options.now = now
        let report: LagReport
        do {
            report = try LagReport.make(LocalStore(directory), options)
        } catch let error as SluiceError where error.reason == .unknownGroup {
            return entry
        }
        if let topic = report.groups.first?.topics.first {
            entry.partitions = topic.partitions
            entry.lag = topic.lag
            entry.drainRate = topic.consumeRate
            if record.phase == .draining { entry.etaMillis = topic.lag == 0 ? 0 : topic.etaMillis }
        }
        if record.phase == .draining && entry.lag == 0 { entry.state = .done }
        return entry
    }

    /// `redistribute status --json`, schema version 1:
    ///
    ///     {"version": 1, "redistributions": [{"name", "kind", "state", "source_topic", "group", "migrated_groups",
    ///       "temporary_topic", "drain_group", "partitions", "strategy", "follow", "copied_records", "backlog_records",
    ///       "lag", "drain_rate", "eta_ms", "created_at", "handed_off_at", "finished_at", "outcome",
    ///       "drain": [{"partition", "end_offset", "committed_offset", "lag"}]}]}
    ///
    /// `backlog_records` is null while following; `lag`, `drain_rate` and `eta_ms` are null when unknown.
    public var json: JSONValue {
        [
            "version": 1,
            "redistributions": .array(
                entries.map { e in
                    let r = e.record
                    return [
                        "name": .string(r.name), "kind": .string(r.kind.rawValue), "state": .string(e.state.rawValue),
                        "source_topic": .string(r.sourceTopic), "group": JSONValue(r.group),
                        "migrated_groups": .array(r.migratedGroups.map { .string($0.group) }),
                        "temporary_topic": .string(r.targetTopic), "drain_group": JSONValue(r.drainGroup),
                        "partitions": JSONValue(r.targetPartitions), "strategy": .string(r.strategy.rawValue), "follow": .bool(r.follow),
                        "copied_records": .int(r.copiedRecords), "backlog_records": JSONValue(r.backlogRecords), "lag": JSONValue(e.lag),
                        "drain_rate": JSONValue.rate(e.drainRate), "eta_ms": JSONValue(e.etaMillis), "created_at": .int(r.createdAt),
                        "handed_off_at": JSONValue(r.handedOffAt), "finished_at": JSONValue(r.finishedAt), "outcome": JSONValue(r.outcome),
                        "drain": .array(
                            e.partitions.map { p in
                                [
                                    "partition": JSONValue(p.partition), "end_offset": JSONValue(p.logEnd),
                                    "committed_offset": JSONValue(p.committed),
                                    "lag": JSONValue(p.lag),
                                ]
                            }),
                    ]
                }),
        ]
    }
}
