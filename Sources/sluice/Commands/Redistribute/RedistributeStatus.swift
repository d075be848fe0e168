import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage

struct RedistributeStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show redistributions and migrations: state, drain lag per temporary partition, time to drained.",
        discussion: """
            STATE: copying (the copy runs or was interrupted; resume it with the same 'start' command), draining \
            (handed off; the drain group is consuming the temporary topic), done (drained: run 'finish'), \
            finishing, finished (the temporary topic is gone; OUTCOME says drained, forced or abandoned), \
            migrated (a finished 'topic migrate'). The drain lag comes from the drain group's committed offsets, \
            the rate and ETA from its last commits, as in 'sluice lag'.

            --check exits 2 while any redistribution shown is not done (for cron: 'status NAME --check && finish NAME').

            --json prints schema version 1: {version, redistributions: [{name, kind, state, source_topic, group, \
            migrated_groups, temporary_topic, drain_group, partitions, strategy, follow, copied_records, \
            backlog_records, lag, drain_rate, eta_ms, created_at, handed_off_at, finished_at, outcome, drain: \
            [{partition, end_offset, committed_offset, lag}]}]} (null when unknown; times in epoch ms).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "A redistribution (default: all).", completion: Completions.redistributions)
    var name: String?

    @Flag(help: "Print JSON (schema version 1).")
    var json = false

    @Flag(help: "Exit 2 while not fully drained.")
    var check = false

    func run() throws {
        let directory = try common.open()
        let status = try RedistributionStatus.make(directory, name: name)
        if json {
            try Output.printJSON(status.json)
        } else if status.entries.isEmpty {
            try Output.print("no redistributions in \(directory.path)")
        } else {
            try Output.print(render(status))
        }
        if check, let pending = status.entries.first(where: { !$0.isDone }) {
            throw SluiceError.checkFailed(
                .notDrained,
                """
                redistribution '\(pending.record.name)' is \
                \(pending.state.rawValue)\(pending.lag.map { " (\($0) records left to drain)" } ?? "")
                """
            )
        }
    }

    private func render(_ status: RedistributionStatus) -> String {
        var table = Table([
            ("NAME", .left), ("STATE", .left), ("TOPIC", .left), ("GROUP", .left), ("PARTITIONS", .right),
            ("COPIED", .right), ("LAG", .right), ("RATE", .right), ("ETA", .right), ("OUTCOME", .left),
        ])
        for e in status.entries {
            let r = e.record
            let copied = r.backlogRecords.map { "\(r.copiedRecords)/\($0)" } ?? "\(r.copiedRecords)"
            table.add([
                r.name, e.state.rawValue, r.sourceTopic, r.group ?? r.migratedGroups.map(\.group).joined(separator: ","),
                String(r.targetPartitions), copied, e.lag.map(String.init) ?? "-", e.drainRate.map { "\(Int64($0))/s" } ?? "-",
                e.etaMillis.map(TimeParsing.formatDuration) ?? "-", r.outcome ?? "-",
            ])
        }
        guard name != nil, let entry = status.entries.first, !entry.partitions.isEmpty else { return table.render() }
        var drain = Table([("PARTITION", .right), ("END", .right), ("DRAINED TO", .right), ("LAG", .right)])
        for p in entry.partitions {
            drain.add([
                String(p.partition), p.logEnd.map(String.init) ?? "-", p.committed.map(String.init) ?? "-", p.lag.map(String.init) ?? "-",
            ])
        }
        return table.render() + "\n\ndrain group '\(entry.record.drainGroup!)' on '\(entry.record.targetTopic)':\n" + drain.render()
    }
}
