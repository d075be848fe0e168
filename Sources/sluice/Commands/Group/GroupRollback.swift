import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

struct GroupRollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Restore a group's offsets from its history (undo a seek, rollback or delete).",
        discussion: """
            --to-commit-at TIME restores the offsets the group had at TIME; --steps N restores them as they were \
            before its last N administrative changes (seek, rollback, delete; consumer commits do not count). \
            Partitions the group had no offset for then lose theirs. A dry run by default, like 'group seek'; \
            --execute applies it as one atomic commit, itself undoable. History is kept for the retention.ms of \
            the topic __consumer_offsets (default 7d).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The consumer group.", completion: Completions.groups)
    var group: String

    @Option(
        name: .customLong("to-commit-at"), parsing: .unconditional,
        help: ArgumentHelp("Restore the offsets as they were at this time (\(TimeParsing.timeFormatsSummary)).", valueName: "time"))
    var toCommitAt: String?

    @Option(help: ArgumentHelp("Undo the last N administrative changes.", valueName: "N"))
    var steps: String?

    @Option(
        name: .customLong("topic"),
        help: ArgumentHelp("Only this topic, or TOPIC:P,P,... (or P-Q ranges) (repeatable).", valueName: "topic"),
        completion: Completions.topics)
    var topics: [String] = []

    @OptionGroup var change: GroupChangeOptions

    func validate() throws {
        guard (toCommitAt != nil) != (steps != nil) else { throw ValidationError("give exactly one of --to-commit-at TIME and --steps N") }
    }

    func run() throws {
        let store = try change.execute ? common.openStore(writing: "move the offsets of group '\(group.printable)'") : common.openStore()
        let point: OffsetPlan.RollbackPoint
        if let steps {
            guard let n = Int(steps), n >= 1 else {
                throw SluiceError.usage(.invalidArgument, "malformed --steps '\(steps.printable)'", remedy: "use a positive whole number")
            }
            point = .steps(n)
        } else {
            point = .time(try TimeParsing.parseTime(toCommitAt!, now: WallClock.nowMillis()))
        }
        let scope = topics.isEmpty ? nil : try OffsetScope.parse(topics)
        let targetTime: Int64? = if case .time(let time) = point { time } else { nil }
        try GroupChange.run(store, group: group, options: change, targetTime: targetTime) {
            try OffsetPlan.rollback(store, group: group, to: point, scope: scope)
        }
    }
}
