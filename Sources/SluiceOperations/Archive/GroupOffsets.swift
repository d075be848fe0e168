import SluiceCore
import SluiceLocal
import SluiceStore

/// Committed consumer-group offsets as export, import and retention see
/// them, by topic: export reads them (a group's backlog, or every group for
/// the manifest), import restores them after a topic is created with its
/// archived offsets. Every `Store` provides it (below); tests supply their own.
public protocol GroupOffsetStore: AnyObject {
    /// Every group's committed offsets on `topic`: group → partition → the
    /// next offset the group will consume.
    func committedOffsets(topic: String) throws -> [String: [Int: Int64]]

    /// Sets the committed offsets of the given groups on `topic`.
    func restore(topic: String, offsets: [String: [Int: Int64]]) throws
}

extension GroupStore {
    public func committedOffsets(topic: String) throws -> [String: [Int: Int64]] {
        var out: [String: [Int: Int64]] = [:]
        for (group, offsets) in try allCommittedOffsets() {
            for (key, committed) in offsets where key.topic == topic { out[group, default: [:]][key.partition] = committed.offset }
        }
        return out
    }

    /// One commit per group, recorded in its history as an administrative
    /// move (`sluice.op=seek`) made by an import.
    public func restore(topic: String, offsets: [String: [Int: Int64]]) throws {
        for group in offsets.keys.sorted() {
            let partitions = offsets[group]!
            let changes = partitions.keys.sorted().map { OffsetChange(TopicPartition(topic, $0), offset: partitions[$0]!) }
            try commit(
                group: group, changes: changes,
                annotations: CommitAnnotations(
                    operation: .seek, member: HolderInfo.administrator().member,
                    detail: "restored by sluice import"))
        }
    }
}

extension LocalStore: GroupOffsetStore {}
