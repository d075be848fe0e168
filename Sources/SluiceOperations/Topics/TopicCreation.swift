import SluiceCore
import SluiceStore

/// `topic create`: a topic created under the name of a deleted one starts
/// without the offsets its groups had committed on the old one
/// (`DeletedTopicOffsets`). Bad input is refused before anything changes.
public enum TopicCreation {
    /// Creates the topic; nil when `ifNotExists` and it already exists.
    public static func create(_ store: Store, name: String, partitions: Int, config: [String], ifNotExists: Bool) throws -> TopicLayout? {
        try store.createTopic(name, partitions: partitions, config: config, validateOnly: true)
        if ifNotExists, try store.layouts(of: [name])[name] != nil { return nil }
        _ = try DeletedTopicOffsets.forget(name, in: store)
        return try store.createTopic(name, partitions: partitions, config: config, validateOnly: false)
    }
}
