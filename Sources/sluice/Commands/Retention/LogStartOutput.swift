import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

/// What `retention` and `delete-records` print: a warning per group that
/// loses records it has not consumed (before anything is deleted), then the
/// plan or what was done as a table or JSON, and a one-line summary.
enum LogStartOutput {
    static func warnLosses(_ plan: LogStartPlan, executing: Bool) {
        for loss in plan.losses {
            Diagnostics.warn(
                """
                group '\(loss.group.printable)' has not consumed offsets \(loss.committed) to \(loss.newLogStart - 1) of \
                \(loss.topic)-\(loss.partition) (\(loss.records) records); \(plan.operation.rawValue) \
                \(executing ? "deletes" : "would delete") them\(plan.operation == .retention ? " (--keep-unconsumed keeps them)" : "")
                """
            )
        }
    }

    static func show(_ plan: LogStartPlan, executed changes: [LogStartChange]?, json: Bool) throws {
        if json {
            try Output.printJSON(plan.json(executed: changes))
            return
        }
        let moving = plan.moves.filter(\.changes)
        for move in plan.moves where move.keptSegments > 0 {
            StandardErrorLog.notice(
                """
                kept \(move.keptSegments) segment\(move.keptSegments == 1 ? "" : "s") of \
                \(move.partition.name) that a group has not consumed (--keep-unconsumed)
                """
            )
        }
        guard !moving.isEmpty else {
            StandardErrorLog.notice(
                plan.operation == .retention
                    ? "nothing to delete: every partition is within its retention"
                    : "nothing to delete: every log already starts at or after that point")
            return
        }
        var table = Table([
            ("TOPIC", .left), ("PARTITION", .right), ("LOG-START", .right), ("NEW-START", .right), ("END", .right),
            ("RECORDS", .right), ("SEGMENTS", .right), ("FREED", .right), ("RULE", .left),
        ])
        let done = Dictionary(uniqueKeysWithValues: (changes ?? []).map { ($0.partition, $0) })
        for move in moving {
            let change = done[move.partition.name]
            let newStart = change?.newStart ?? move.newLogStart
            table.add([
                move.partition.topic, String(move.partition.index), String(move.logStart), String(newStart), String(move.logEnd),
                String(newStart - move.logStart), String(change?.deleted.count ?? move.segments.count),
                ByteCount.format(change?.freedBytes ?? move.bytes),
                move.rules.isEmpty ? "-" : move.rules.map(\.rawValue).joined(separator: ","),
            ])
        }
        try Output.print(table.render())
        if let changes {
            let freed = changes.reduce(0) { $0 + $1.freedBytes }, segments = changes.reduce(0) { $0 + $1.deleted.count }
            let records = changes.reduce(0) { $0 + $1.newStart - $1.previousStart }
            StandardErrorLog.notice(
                """
                deleted \(records) records (\(segments) segment\(segments == 1 ? "" : "s")) of \
                \(changes.count) partition\(changes.count == 1 ? "" : "s"), freed \(ByteCount.format(freed))
                """
            )
        } else {
            let segments = moving.reduce(0) { $0 + $1.segments.count }
            StandardErrorLog.notice(
                """
                dry run: would delete \(plan.records) records (\(segments) \
                segment\(segments == 1 ? "" : "s")) and free \(ByteCount.format(plan.bytes)); nothing changed
                """
            )
        }
    }
}
