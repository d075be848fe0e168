import ArgumentParser
import SluiceCore
import SluiceLocal
import SluiceOperations
import SluiceStore
import SluiceSystem

struct DeleteRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-records",
        abstract: "Delete a topic's records before an offset or a time (Kafka's kafka-delete-records).",
        discussion: """
            Moves each partition's log start to --before (an offset, or a time: @TIME or ISO-8601, deleting the \
            records older than it) and unlinks the segments wholly below it; records below the new start in the \
            first remaining segment stay on disk but are no longer readable, as in Kafka. A log start already \
            past the point stays. The new start is recorded in log-start-offset-checkpoint (Kafka's file) before \
            anything is unlinked, so a killed run leaves each partition consistent and running it again \
            finishes it. Consumers reading a deleted segment finish it; one that reaches deleted records goes on \
            at the new log start with a warning.

            It warns about every consumer group whose committed offset it passes. It asks for confirmation on a \
            terminal; --yes confirms without asking (required when not on a terminal); --dry-run only shows the \
            plan. --json prints the schema of 'sluice retention --json'.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var topic: String

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Delete the records before this offset, or older than this time (@TIME; \(TimeParsing.timeFormatsSummary)).",
            valueName: "offset|time"))
    var before: String

    @Option(name: [.customShort("p"), .long], parsing: .unconditionalSingleValue, help: "Only this partition (repeatable; default all).")
    var partition: [Int] = []

    @Flag(name: .customLong("dry-run"), help: "Only print what would be deleted.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .long], help: "Delete without asking.")
    var yes = false

    @Flag(help: "Print JSON (schema version 1).")
    var json = false

    func run() throws {
        let directory = try dryRun ? common.open() : common.open(writing: "delete records of topic '\(topic.printable)'")
        let boundary = try LogStartPlan.Boundary.parse(before, now: WallClock.nowMillis())
        let plan = try LogStartPlan.deleteRecords(
            try directory.topic(topic), partitions: partition, before: boundary,
            groups: LocalStore(directory))
        LogStartOutput.warnLosses(plan, executing: !dryRun && yes)
        if !dryRun && !yes && plan.records > 0 {
            try Confirmation.ask(
                "Delete \(plan.records) records of topic '\(topic)' (\(ByteCount.format(plan.bytes)) freed now)?", flag: "--yes")
        }
        let changes = dryRun ? nil : try plan.execute(in: directory, shouldStop: { Interruption.requested })
        try LogStartOutput.show(plan, executed: changes, json: json)
    }
}
