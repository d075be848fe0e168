import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

/// Options `redistribute start` and `topic migrate` share.
struct CopyOptions: ParsableArguments {
    @Flag(help: "Do it. Without it the plan is printed and nothing changes.")
    var execute = false

    @Flag(name: .customLong("dry-run"), help: "Only print the plan (the default).")
    var dryRun = false

    @Option(
        name: .customLong("wait-inactive"), parsing: .unconditional,
        help: ArgumentHelp("Wait up to this long for the group's consumers to stop.", valueName: "duration"))
    var waitInactive: String?

    @Option(
        name: .customLong("checkpoint-every"),
        help: ArgumentHelp(
            "Copy about this much between durable checkpoints (default 1G); less is redone after a crash, more is fsynced.",
            valueName: "size"))
    var checkpointEvery: String?

    @Flag(help: "Print the plan (with --execute: the result) as JSON (schema version 1).")
    var json = false

    func validate() throws {
        if execute && dryRun { throw ValidationError("--execute and --dry-run cannot be combined") }
    }

    /// Opens the data directory: for writing with --execute, else to read
    /// (a dry run works on a directory sluice only reads).
    func open(_ common: CommonOptions, writing action: String) throws -> DataDirectory {
        try execute ? common.open(writing: action) : common.open()
    }

    func waitMillis() throws -> Int64? { try waitInactive.map(TimeParsing.parseDuration) }

    func chunkBytes(default value: Int64) throws -> Int64 {
        try checkpointEvery.map { try ByteSizeArgument.parse($0, option: "--checkpoint-every") } ?? value
    }

    /// The flow `redistribute start` and `topic migrate` share: without
    /// --execute, prints the plan (a table, or JSON) and returns nil; with it,
    /// copies with a progress line on a terminal and returns the record and
    /// the time taken (after printing the JSON result itself when asked);
    /// `done` says the copy had ended before this run (nothing was done).
    func run(
        _ directory: DataDirectory, plan: () throws -> RedistributionPlan, show: (RedistributionPlan) throws -> Void,
        copy: (((CopyProgress) -> Void)?) throws -> RedistributionRecord
    ) throws -> (record: RedistributionRecord, took: String, done: Bool)? {
        guard execute else {
            let plan = try plan()
            json ? try Output.printJSON(plan.json(executed: false)) : try show(plan)
            if plan.record.phase == .copying {
                StandardErrorLog.notice("dry run: nothing changed; add --execute to \(plan.resuming ? "resume" : "start")")
            }
            return nil
        }
        let started = WallClock.monotonicNanos(), startedAt = WallClock.nowMillis()
        let line = ProgressLine.make()
        let record: RedistributionRecord
        do {
            defer { line?.clear() }
            record = try copy(line.map { line in { line.update($0) } })
        }
        if json {
            try Output.printJSON(try RedistributionPlan.of(record, in: directory).json(executed: true))
            return nil
        }
        let done = (record.handedOffAt ?? record.finishedAt ?? .max) < startedAt
        return (record, TimeParsing.formatDuration(Int64((WallClock.monotonicNanos() - started) / 1_000_000)), done)
    }

    /// Prints a plan: the header lines, then a table per source partition.
    static func show(_ plan: RedistributionPlan, lines: [String]) throws {
        var table = Table([
            ("PARTITION", .right), ("COMMITTED", .right), ("START", .right), ("END", .right), ("RECORDS", .right), ("NOTE", .left),
        ])
        for (source, end) in zip(plan.record.sources, plan.ends) {
            let note: String
            switch source.startReason {
            case .committed, .logStart: note = ""
            case .earliest: note = "no committed offset: from the log start (--from earliest, as 'consume --group' does)"
            case .latest: note = "no committed offset: from the log end (--from latest)"
            case .outOfRange: note = "committed offset \(source.committed!) is outside the log; reset (--from)"
            }
            let stop = source.stop ?? end
            table.add([
                String(source.partition), source.committed.map(String.init) ?? "-", String(source.start),
                source.stop.map(String.init) ?? "\(end)+", String(stop - source.start), note,
            ])
        }
        try Output.print((lines + ["", table.render()]).joined(separator: "\n"))
    }

    /// The first line of a plan: new, resumed (and how far it got), or ended.
    static func title(_ plan: RedistributionPlan, _ what: String) -> String {
        let r = plan.record
        guard plan.resuming else { return "plan for \(what)" }
        guard r.phase == .copying else {
            return "\(what) has nothing left to copy (\(r.phase.rawValue)); see 'sluice redistribute status \(r.name)'"
        }
        return "resume \(what): \(r.copiedRecords) of \(plan.backlogRecords) records copied so far"
    }

    static func provenanceLine(_ record: RedistributionRecord) -> String {
        record.provenance
            ? """
            provenance: every record gains the header \(RedistributionNames.provenanceHeader)=\(record.sourceTopic)/PARTITION/OFFSET \
            (records are re-encoded; --no-provenance copies whole batches untouched, faster)
            """
            : "provenance: none (whole batches are copied untouched where the strategy allows)"
    }

    static func estimate(_ plan: RedistributionPlan) -> String {
        let records = plan.backlogRecords - plan.record.copiedRecords
        return
            """
            \(plan.resuming ? "left to copy" : "backlog"): \(records) records, about \
            \(ByteCount.format(plan.backlogBytes)); estimated \(TimeParsing.formatDuration(plan.estimatedMillis))
            """
    }
}

/// `--checkpoint-every SIZE`: bytes, with an optional K, M or G suffix (powers of 1024).
enum ByteSizeArgument {
    static func parse(_ text: String, option: String) throws -> Int64 {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text.uppercased())
        if digits.hasSuffix("IB") { digits = digits.dropLast(2) } else if digits.hasSuffix("B") { digits = digits.dropLast() }
        var unit: Int64 = 1
        if let last = digits.last, let scale = units[last] { unit = scale; digits = digits.dropLast() }
        guard let n = Int64(digits), n > 0, n <= Int64.max / unit else {
            throw SluiceError.usage(
                .invalidArgument, "malformed \(option) '\(text.printable)'", remedy: "use a size in bytes, e.g. 64M or 1G")
        }
        return n * unit
    }
}
