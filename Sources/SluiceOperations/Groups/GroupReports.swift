import SluiceCore
import SluiceStore

/// One line of `group list`.
public struct GroupSummary: Sendable {
    public var group: String
    public var active: Bool
    public var members: Int
    public var topics: [String]
    public var partitions: Int
    /// Total lag over the partitions the group committed (records), nil
    /// when none is known (its topics were deleted), as `lag` shows it.
    public var lag: Int64?
    public var lastCommit: Int64?

    /// Every group with committed offsets or running members.
    public static func all(_ store: Store) throws -> [GroupSummary] {
        var options = LagReport.Options()
        options.times = false
        let report = try LagReport.make(store, options)
        var summaries = report.groups.map { group in
            GroupSummary(
                group: group.group, active: group.active, members: 0, topics: group.topics.map(\.topic),
                partitions: group.topics.reduce(0) { $0 + $1.partitions.filter { $0.committed != nil }.count },
                lag: group.lag, lastCommit: group.topics.compactMap(\.lastCommit).max())
        }
        for name in try store.allActiveGroups() where !summaries.contains(where: { $0.group == name }) {
            summaries.append(GroupSummary(group: name, active: true, members: 0, topics: [], partitions: 0, lag: nil, lastCommit: nil))
        }
        let members = try store.members(of: summaries.filter(\.active).map(\.group))
        for i in summaries.indices where summaries[i].active { summaries[i].members = members[summaries[i].group]?.count ?? 0 }
        return summaries.sorted { $0.group < $1.group }
    }

    /// One entry of `group list --json` (schema: {version, groups: [this]}).
    public var json: JSONValue {
        [
            "group": .string(group), "state": .string(active ? "active" : "inactive"), "members": JSONValue(members),
            "topics": .array(topics.map { .string($0) }), "partitions": JSONValue(partitions), "lag": JSONValue(lag),
            "last_commit": JSONValue(lastCommit),
        ]
    }
}

/// One change in `group history`: a commit record with the offset it replaced.
public struct HistoryEntry: Sendable {
    public var event: CommitEvent
    public var previous: Int64?

    /// The group's changes, oldest first, optionally for some topics only;
    /// carried-forward (retain) records are not changes and are left out.
    public static func list(_ store: Store, group: String, topics: [String] = []) throws -> (entries: [HistoryEntry], keptSince: Int64?) {
        let history = try store.history(of: group)
        guard !history.events.isEmpty else { throw store.unknownGroup(group) }
        var last: [TopicPartition: Int64] = [:]
        var entries: [HistoryEntry] = []
        for event in history.events {
            let previous = last[event.topicPartition]
            last[event.topicPartition] = event.value?.offset
            guard event.annotations.operation != .retain, topics.isEmpty || topics.contains(event.topicPartition.topic) else { continue }
            entries.append(HistoryEntry(event: event, previous: previous))
        }
        return (entries, history.keptSince)
    }

    /// One entry of `group history --json` (schema: {version, group, kept_since, changes: [this]}).
    public var json: JSONValue {
        [
            "time": .int(event.timestamp), "operation": .string(event.annotations.operation.rawValue),
            "operation_id": JSONValue(event.annotations.operationID), "member": JSONValue(event.annotations.member),
            "detail": JSONValue(event.annotations.detail), "topic": .string(event.topicPartition.topic),
            "partition": JSONValue(event.topicPartition.partition), "offset": JSONValue(event.value?.offset),
            "previous_offset": JSONValue(previous), "metadata": JSONValue(event.value?.metadata), "log_offset": .int(event.logOffset),
        ]
    }
}
