import ArgumentParser
import SluiceCore
import SluiceLocal
import SluiceOperations
import SluiceStorage
import SluiceStore

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
        let store = try common.openTopicStore(writing: "create topic '\(name.printable)'")
        guard
            let topic = try TopicCreation.create(
                store, staleOffsets: store as? LocalStore, name: name, partitions: partitions, config: config, ifNotExists: ifNotExists)
        else {
            StandardErrorLog.notice("topic '\(name)' already exists")
            return
        }
        try Output.print("created topic '\(topic.name)' with \(topic.partitionCount) partition\(topic.partitionCount == 1 ? "" : "s")")
    }
}
