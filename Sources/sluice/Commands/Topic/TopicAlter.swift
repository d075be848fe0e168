import ArgumentParser
import SluiceCore
import SluiceStorage
import SluiceStore

struct TopicAlter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alter",
        abstract: "Add partitions to a topic, or change its config.",
        discussion:
            """
            Partitions can only be added: a Kafka-style log cannot shrink. To spread a topic over a \
            different number of partitions, copy it with 'sluice redistribute' or 'sluice topic migrate'.
            """
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var name: String

    @Option(name: [.customShort("p"), .long], parsing: .unconditional, help: "The new (larger) number of partitions.")
    var partitions: Int?

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("A config change as key=value (repeatable).", valueName: "key=value"))
    var config: [String] = []

    func validate() throws {
        if partitions == nil && config.isEmpty {
            throw ValidationError("nothing to change: give --partitions N and/or --config key=value")
        }
    }

    func run() throws {
        let store = try common.openTopicStore(writing: "alter topic '\(name.printable)'")
        _ = try store.layout(of: name)
        if !config.isEmpty {
            let updated = try store.alterConfig(name, assignments: config)
            let changed = Set(config.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
            try Output.print(
                "updated topic '\(name)': " + updated.filter { changed.contains($0.0) }.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        }
        if let partitions {
            let (old, new) = try store.addPartitions(name, to: partitions)
            try Output.print("topic '\(name)' now has \(new) partitions (was \(old))")
            Diagnostics.warn(
                """
                keyed records go to murmur2(key) % partitions: from now on most keys go to other partitions than \
                before, and each key's earlier records stay where they are (running producers follow within a second)
                """
            )
        }
    }
}
