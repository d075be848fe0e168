import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

struct GroupDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a group's committed offsets.",
        discussion: """
            Refused (exit 2) while the group is active; --wait-inactive DURATION waits for its consumers to stop. \
            The offsets are removed in one atomic commit and stay in the history, so 'sluice group rollback G \
            --steps 1 --execute' restores them.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The consumer group.", completion: Completions.groups)
    var group: String

    @Option(
        name: .customLong("wait-inactive"), parsing: .unconditional,
        help: ArgumentHelp("Wait up to this long for the group's consumers to stop.", valueName: "duration"))
    var waitInactive: String?

    func run() throws {
        let store = try common.openStore(writing: "delete group '\(group.printable)'")
        let wait = try waitInactive.map(TimeParsing.parseDuration)
        let plan = try GroupOffsetChange.run(store, group: group, execute: true, waitMillis: wait) {
            try OffsetPlan.delete(store, group: group)
        }.plan
        try Output.print(
            """
            deleted group '\(group)' (\(plan.rows.count) committed offset\(plan.rows.count == 1 ? "" : "s")); \
            restore with 'sluice group rollback \(group) --steps 1 --execute'
            """
        )
    }
}
