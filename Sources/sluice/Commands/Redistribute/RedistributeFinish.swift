import ArgumentParser
import SluiceCore
import SluiceOperations

struct RedistributeFinish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finish",
        abstract: "Delete a drained redistribution's temporary topic and its groups' offsets, and record the outcome.",
        discussion: """
            Refused (exit 2) until the drain group has consumed the whole temporary topic, and while any group \
            with offsets on it is active (--wait-inactive waits). --force finishes anyway: records not yet \
            drained are deleted unconsumed (outcome 'forced'), and a redistribution still copying is abandoned \
            (outcome 'abandoned': G's offsets were never moved, so G consumes its backlog itself). TOPIC and G \
            are left exactly as 'start' left them. Safe to run again after a crash.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The redistribution (its temporary topic's name).", completion: Completions.redistributions)
    var name: String

    @Flag(help: "Finish even if not drained, or abandon a redistribution still copying.")
    var force = false

    @Option(
        name: .customLong("wait-inactive"), parsing: .unconditional,
        help: ArgumentHelp("Wait up to this long for the groups' consumers to stop.", valueName: "duration"))
    var waitInactive: String?

    func run() throws {
        let directory = try common.open(writing: "finish redistribution '\(name.printable)'")
        let wait = try waitInactive.map(TimeParsing.parseDuration)
        let before = try RedistributionStore(directory: directory).require(name)
        let record = try RedistributionFinish.run(directory, name: name, force: force, waitInactiveMillis: wait)
        if before.phase == .finished {
            try Output.print("redistribution '\(name)' was already finished (\(record.outcome ?? "-"))")
            return
        }
        try Output.print(
            """
            finished redistribution '\(name)' (\(record.outcome ?? "-")): deleted topic '\(record.targetTopic)' and its \
            groups' offsets; topic '\(record.sourceTopic)' and group '\(record.group ?? "")' are as 'start' left them
            """
        )
    }
}
