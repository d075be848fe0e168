import SluiceCore
import SluiceGroups
import SluiceStorage

/// Committed offsets belong to one life of a topic: a topic created again
/// under a deleted one's name starts with none, or its groups would skip its
/// first records and `lag` would count them as consumed (Kafka's coordinator
/// likewise drops the offsets of a deleted topic).
public enum DeletedTopicOffsets {
    /// Deletes `topic` and then every group's committed offsets on it (a
    /// tombstone per partition, recorded in the group's history). Returns the
    /// groups whose offsets went.
    public static func deleteTopic(_ topic: String, in directory: DataDirectory) throws -> [String] {
        try directory.deleteTopic(topic)
        return try forget(topic, in: directory, reason: "topic '\(topic)' deleted")
    }

    /// Removes what a delete killed before its second step (or a version of
    /// sluice before this rule) left: for a topic about to be created.
    public static func forgetLeftovers(of topic: String, in directory: DataDirectory) throws -> [String] {
        guard try directory.existingTopic(topic) == nil else { return [] }
        return try forget(topic, in: directory, reason: "left from an earlier topic '\(topic)'")
    }

    private static func forget(_ topic: String, in directory: DataDirectory, reason: String) throws -> [String] {
        let store = OffsetsStore(directory: directory)
        var groups: [String] = []
        for (group, offsets) in try store.allOffsets().sorted(by: { $0.key < $1.key }) {
            let changes = offsets.filter { $0.key.topic == topic }.sorted { $0.key < $1.key }
                .map { OffsetChange($0.key, offset: nil, previousOffset: $0.value.offset) }
            guard !changes.isEmpty else { continue }
            try store.commit(group: group, changes: changes, annotations: CommitAnnotations(operation: .delete, detail: reason))
            groups.append(group)
        }
        return groups
    }
}
