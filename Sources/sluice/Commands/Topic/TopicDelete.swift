import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

struct TopicDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a topic and all its records.",
        discussion: "Asks for confirmation on a terminal; --yes confirms without asking (required when not on a terminal). The deletion is atomic: a killed delete leaves the topic whole or gone. Every group's committed offsets on the topic go with it (a topic created again under the name starts without them).")

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var name: String

    @Flag(name: [.customShort("y"), .long], help: "Delete without asking.")
    var yes = false

    func run() throws {
        let directory = try common.open(writing: "delete topic '\(name.printable)'")
        let report = try TopicReport.make(try directory.topic(name))
        if !yes {
            try Confirmation.ask("Delete topic '\(name)' (\(report.partitionCount) partitions, \(report.records) records, \(ByteCount.format(report.bytes)))?",
                                 flag: "--yes")
        }
        let groups = try DeletedTopicOffsets.deleteTopic(name, in: directory)
        try Output.print("deleted topic '\(name)'")
        if !groups.isEmpty {
            try Output.print("removed the committed offsets on it of \(groups.count) group\(groups.count == 1 ? "" : "s"): \(groups.map(\.printable).joined(separator: ", "))")
        }
    }
}
