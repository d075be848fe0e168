import SluiceCore
import SluiceStore

/// Committed offsets belong to one life of a topic. After `topic delete` they
/// stay, so `lag` can show what a group had consumed of the topic that went
/// ("(deleted)"); a topic created again under the name starts without them, or
/// its groups would skip its first records and `lag` would count those as
/// consumed.
public enum DeletedTopicOffsets {
    /// Removes every group's committed offsets on `topic`, which is about to
    /// be created (a tombstone per partition, in the group's history).
    /// Returns the groups whose offsets went.
    public static func forget(_ topic: String, in store: Store) throws -> [String] {
        guard try store.layouts(of: [topic])[topic] == nil else { return [] }
        var groups: [String] = []
        for (group, offsets) in try store.allCommittedOffsets().sorted(by: { $0.key < $1.key }) {
            let changes = offsets.filter { $0.key.topic == topic }.sorted { $0.key < $1.key }
                .map { OffsetChange($0.key, offset: nil, previousOffset: $0.value.offset) }
            guard !changes.isEmpty else { continue }
            try store.commit(
                group: group, changes: changes,
                annotations: CommitAnnotations(operation: .delete, detail: "left from a deleted topic '\(topic)'"))
            groups.append(group)
        }
        if !groups.isEmpty {
            Diagnostics.warn(
                """
                removed committed offsets on '\(topic.printable)' left from a deleted topic of that name \
                (group\(groups.count == 1 ? "" : "s") \(groups.map(\.printable).joined(separator: ", "))): \
                the new topic's groups start without them
                """
            )
        }
        return groups
    }
}
