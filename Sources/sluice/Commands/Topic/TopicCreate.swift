import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage

struct TopicCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a topic.",
        discussion: "Config keys: " + TopicConfig.keys.map { "\($0.name): \($0.summary)" }.joined(separator: "; ") + ".")

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic name: letters, digits, '.', '_' and '-', at most 249 characters.")
    var name: String

    @Option(name: [.customShort("p"), .long], parsing: .unconditional, help: "The number of partitions.")
    var partitions: Int = 1

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("A topic config as key=value (repeatable).", valueName: "key=value"))
    var config: [String] = []

    @Flag(name: .customLong("if-not-exists"), help: "Succeed without changes if the topic already exists.")
    var ifNotExists = false

    func run() throws {
        let directory = try common.open(writing: "create topic '\(name.printable)'")
        var topicConfig = TopicConfig()
        try topicConfig.apply(assignments: config)
        if ifNotExists, try directory.existingTopic(name) != nil {
            StandardErrorLog.notice("topic '\(name)' already exists")
            return
        }
        _ = try DeletedTopicOffsets.forget(name, in: directory)
        let topic = try directory.createTopic(name, partitions: partitions, config: topicConfig)
        try Output.print("created topic '\(topic.name)' with \(topic.partitionCount) partition\(topic.partitionCount == 1 ? "" : "s")")
    }
}
