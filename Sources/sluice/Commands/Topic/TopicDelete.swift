import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

struct TopicDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a topic and all its records.",
        discussion:
            """
            Asks for confirmation on a terminal; --yes confirms without asking (required when not on a terminal). The \
            deletion is atomic: a killed delete leaves the topic whole or gone. Groups' committed offsets on it stay \
            (lag shows the topic as deleted) until a topic of that name is created again, which starts without them.
            """
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var name: String

    @Flag(name: [.customShort("y"), .long], help: "Delete without asking.")
    var yes = false

    func run() throws {
        let store = try common.openTopicStore(writing: "delete topic '\(name.printable)'")
        let report = try store.describeTopics([name])[0]
        if !yes {
            try Confirmation.ask(
                """
                Delete topic '\(name)' (\(report.partitionCount) partitions, \
                \(report.records) records, \(report.bytes.map(ByteCount.format) ?? "-"))?
                """,
                flag: "--yes")
        }
        try store.deleteTopic(name)
        try Output.print("deleted topic '\(name)'")
    }
}
