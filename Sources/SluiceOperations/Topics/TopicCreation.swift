import SluiceCore
import SluiceStore

/// `topic create`: a topic created under the name of a deleted one starts
/// without the offsets its groups had committed on the old one
/// (`DeletedTopicOffsets`). Bad input is refused before anything changes.
public enum TopicCreation {
    /// Creates the topic; nil when `ifNotExists` and it already exists.
    /// `staleOffsets` is the store whose groups may still hold offsets of an
    /// earlier topic of that name, which the new one must start without: a
    /// data directory keeps them until then; a cluster drops them when the
    /// topic is deleted, so it passes nil.
    public static func create(
        _ store: TopicStore, staleOffsets: Store?, name: String, partitions: Int, config: [String], ifNotExists: Bool
    ) throws -> TopicLayout? {
        try store.createTopic(name, partitions: partitions, config: config, validateOnly: true)
        if ifNotExists, try store.layouts(of: [name])[name] != nil { return nil }
        if let staleOffsets { _ = try DeletedTopicOffsets.forget(name, in: staleOffsets) }
        return try store.createTopic(name, partitions: partitions, config: config, validateOnly: false)
    }
}
