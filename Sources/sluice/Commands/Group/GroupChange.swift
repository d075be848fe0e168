import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

/// Options of the commands that move a group's offsets.
struct GroupChangeOptions: ParsableArguments {
    @Flag(help: "Apply the plan (one atomic commit). Without it nothing changes.")
    var execute = false

    @Flag(name: .customLong("dry-run"), help: "Only print the plan (the default).")
    var dryRun = false

    @Flag(help: "Move the offsets even while consumers of the group are running (they may overwrite them).")
    var force = false

    @Option(
        name: .customLong("wait-inactive"), parsing: .unconditional,
        help: ArgumentHelp("Wait up to this long for the group's consumers to stop.", valueName: "duration"))
    var waitInactive: String?

    @Flag(help: "Print the plan as JSON (schema version 1).")
    var json = false

    func validate() throws {
        if execute && dryRun { throw ValidationError("--execute and --dry-run cannot be combined") }
    }
}

/// Plans a change under the group's guard and applies it when asked: the
/// shared flow of `group seek` and `group rollback`.
enum GroupChange {
    /// Plans the change, shows it, and applies it with `--execute`. `targetTime`
    /// is a time target as read, said with the plan (a zone-less time is UTC,
    /// which surprises some).
    static func run(
        _ store: Store, group: String, options: GroupChangeOptions, export: Bool = false, targetTime: Int64? = nil,
        check: (Bool) throws -> Void = { _ in }, plan makePlan: () throws -> OffsetPlan
    ) throws {
        let wait = try options.waitInactive.map(TimeParsing.parseDuration)
        let outcome = try GroupOffsetChange.run(
            store, group: group, execute: options.execute, force: options.force, waitMillis: wait,
            check: check, plan: makePlan)
        if let targetTime {
            StandardErrorLog.notice("target time: \(TimeParsing.formatISO8601(targetTime)) (\(targetTime) ms since the epoch)")
        }
        try show(outcome.plan, executed: outcome.executed, options: options, export: export)
        guard outcome.executed else {
            if outcome.groupWasActive {
                Diagnostics.warn(
                    """
                    group '\(group.printable)' is active; --execute will refuse it \
                    unless its consumers stop (--wait-inactive) or --force is given
                    """
                )
            }
            StandardErrorLog.notice("dry run: nothing changed; add --execute to apply")
            return
        }
        let changed = outcome.plan.changingRows.count
        StandardErrorLog.notice(
            changed == 0
                ? "nothing to change"
                : """
                applied: \(changed) partition\(changed == 1 ? "" : "s") of group '\(group.printable)' \
                changed; undo with 'sluice group rollback \(group) --steps 1 --execute'
                """
        )
    }

    static func show(_ plan: OffsetPlan, executed: Bool, options: GroupChangeOptions, export: Bool) throws {
        if export {
            if !plan.csv.isEmpty { try Output.print(plan.csv) }
            return
        }
        if options.json {
            try Output.printJSON(plan.json(executed: executed))
            return
        }
        var table = Table([("TOPIC", .left), ("PARTITION", .right), ("CURRENT", .right), ("TARGET", .right), ("CHANGE", .right)])
        for row in plan.rows {
            let change = row.change.map { $0 > 0 ? "+\($0)" : String($0) } ?? (row.target == nil ? "removed" : "new")
            table.add([
                row.topicPartition.topic, String(row.topicPartition.partition), row.current.map(String.init) ?? "-",
                row.target.map(String.init) ?? "-", change,
            ])
        }
        try Output.print(table.render())
    }
}
