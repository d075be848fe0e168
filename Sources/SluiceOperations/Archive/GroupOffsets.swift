/// Committed consumer-group offsets as export and import see them: export
/// reads them (a group's backlog, or every group for the manifest), import
/// restores them after a topic is created with its archived offsets. The
/// consumer-group store provides the real implementation.
public protocol GroupOffsetStore: AnyObject {
    /// Every group's committed offsets on `topic`: group → partition → the
    /// next offset the group will consume.
    func committedOffsets(topic: String) throws -> [String: [Int: Int64]]

    /// Sets the committed offsets of the given groups on `topic`.
    func restore(topic: String, offsets: [String: [Int: Int64]]) throws
}
