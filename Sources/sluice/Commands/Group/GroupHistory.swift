import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

struct GroupHistory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show a group's offset changes over time: commits, seeks, rollbacks, deletions.",
        discussion:
            """
            Oldest first; each line is one partition's change with the offset it replaced. \
            History is kept for the retention.ms of the topic __consumer_offsets (default 7d).
            """
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: "The consumer group.", completion: Completions.groups)
    var group: String

    @Option(
        name: .customLong("topic"), help: ArgumentHelp("Only this topic (repeatable).", valueName: "topic"), completion: Completions.topics)
    var topics: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Only the last N changes.", valueName: "N"))
    var limit: Int?

    @Flag(
        help:
            """
            Print JSON (schema: {version: 1, group, kept_since, changes: [{time, operation, operation_id, \
            member, detail, topic, partition, offset, previous_offset, metadata, log_offset}]}).
            """
    )
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var (entries, keptSince) = try HistoryEntry.list(try common.openStore(), group: group, topics: topics)
        if let limit { entries = Array(entries.suffix(limit)) }
        if json {
            try Output.printJSON([
                "version": 1, "group": .string(group), "kept_since": JSONValue(keptSince), "changes": .array(entries.map(\.json)),
            ])
            return
        }
        if let keptSince { StandardErrorLog.notice("history before \(Output.time(keptSince)) is no longer kept") }
        var table = Table([
            ("TIME", .left), ("OPERATION", .left), ("TOPIC", .left), ("PARTITION", .right), ("OFFSET", .right),
            ("PREVIOUS", .right), ("BY", .left), ("DETAIL", .left),
        ])
        for entry in entries {
            let event = entry.event
            table.add([
                Output.time(event.timestamp), event.annotations.operation.rawValue, event.topicPartition.topic,
                String(event.topicPartition.partition), event.value.map { String($0.offset) } ?? "removed",
                entry.previous.map(String.init) ?? "-", event.annotations.member ?? "-", event.annotations.detail ?? "",
            ])
        }
        try Output.print(table.render())
    }
}
