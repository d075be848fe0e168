import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

struct GroupSeek: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seek",
        abstract: "Move a group's committed offsets (Kafka's reset-offsets).",
        discussion: """
            Give exactly one target and a scope (--topic T, --topic T:0,2,5, repeatable, or --all-topics; a \
            --from-file plan is its own scope). By default this is a dry run that prints the plan (partition, \
            current offset, target, change) and changes nothing; --execute applies it as one atomic commit, \
            recording the previous offsets so 'group rollback G --steps 1 --execute' undoes it. Targets outside \
            [log start, log end] are clamped, with a warning naming each partition.

            --export prints the plan as Kafka's CSV (topic,partition,offset) instead of a table; --from-file \
            applies such a file, and refuses (exit 2) when the group committed any of its partitions after the \
            file was written, unless --force.

            An active group (its consumers hold leases) is refused with exit status 2 naming them, unless --force; \
            --wait-inactive DURATION waits for them to stop.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The consumer group.", completion: Completions.groups)
    var group: String

    @Flag(name: [.customLong("to-earliest"), .customLong("to-beginning")], help: "To the log start (seekToBeginning).")
    var toEarliest = false

    @Flag(name: [.customLong("to-latest"), .customLong("to-end")], help: "To the log end (seekToEnd).")
    var toLatest = false

    @Option(name: .customLong("to-offset"), parsing: .unconditional, help: ArgumentHelp("To this offset.", valueName: "offset"))
    var toOffset: String?

    @Option(
        name: .customLong("to-datetime"), parsing: .unconditional,
        help: ArgumentHelp("To the first record at or after this time (\(TimeParsing.timeFormatsSummary)).", valueName: "time"))
    var toDatetime: String?

    @Option(
        name: .customLong("by-duration"), parsing: .unconditional,
        help: ArgumentHelp("To the first record at or after now minus this duration.", valueName: "duration"))
    var byDuration: String?

    @Option(
        name: .customLong("shift-by"), parsing: .unconditional,
        help: ArgumentHelp("By N records from the committed offset: +N forward, -N back.", valueName: "N"))
    var shiftBy: String?

    @Flag(name: .customLong("to-current"), help: "To the committed offset (re-commits it).")
    var toCurrent = false

    @Option(name: .customLong("from-file"), help: ArgumentHelp("To the offsets of a CSV plan (topic,partition,offset).", valueName: "path"))
    var fromFile: String?

    @Option(
        name: .customLong("topic"),
        help: ArgumentHelp("A topic, or TOPIC:P,P,... (or P-Q ranges) for some partitions (repeatable).", valueName: "topic"),
        completion: Completions.topics)
    var topics: [String] = []

    @Flag(name: .customLong("all-topics"), help: "Every topic the group has committed offsets on.")
    var allTopics = false

    @Flag(help: "Print the plan as Kafka's CSV (topic,partition,offset).")
    var export = false

    @OptionGroup var change: GroupChangeOptions

    func validate() throws {
        let targets = [
            toEarliest, toLatest, toOffset != nil, toDatetime != nil, byDuration != nil, shiftBy != nil, toCurrent, fromFile != nil,
        ]
        guard targets.filter({ $0 }).count == 1 else {
            throw ValidationError(
                """
                give exactly one target: --to-earliest, --to-latest, --to-offset, \
                --to-datetime, --by-duration, --shift-by, --to-current or --from-file
                """
            )
        }
        if !topics.isEmpty && allTopics { throw ValidationError("--topic and --all-topics cannot be combined") }
        if topics.isEmpty && !allTopics && fromFile == nil {
            throw ValidationError("give a scope: --topic TOPIC (repeatable) or --all-topics")
        }
    }

    func run() throws {
        let store = try change.execute ? common.openStore(writing: "move the offsets of group '\(group.printable)'") : common.openStore()
        let target = try parseTarget()
        let scope: OffsetScope? = allTopics ? .allTopics : topics.isEmpty ? nil : try OffsetScope.parse(topics)
        let targetTime: Int64? =
            switch target {
            case .datetime(let time): time
            case .byDuration(let millis): WallClock.nowMillis() - millis
            default: nil
            }
        try GroupChange.run(
            store, group: group, options: change, export: export, targetTime: targetTime,
            check: { executing in
                guard case .file(let saved) = target, let fromFile, !change.force else { return }
                let written = try File.open(fromFile).status().st_mtim
                do {
                    try OffsetPlan.checkNotStale(
                        saved, group: group, file: fromFile, writtenAt: Int64(written.tv_sec) * 1000 + Int64(written.tv_nsec) / 1_000_000,
                        store: store)
                } catch let error as SluiceError where !executing {
                    Diagnostics.warn(error.message)
                }
            }
        ) {
            try OffsetPlan.seek(store, group: group, target: target, scope: scope)
        }
    }

    private func parseTarget() throws -> SeekTarget {
        let now = WallClock.nowMillis()
        if toEarliest { return .earliest }
        if toLatest { return .latest }
        if toCurrent { return .current }
        if let toOffset {
            guard let n = Int64(toOffset), n >= 0 else { throw malformed("offset", toOffset, "use a non-negative integer") }
            return .offset(n)
        }
        if let toDatetime { return .datetime(try TimeParsing.parseTime(toDatetime, now: now)) }
        if let byDuration { return .byDuration(try TimeParsing.parseDuration(byDuration)) }
        if let shiftBy {
            guard let n = Int64(shiftBy.hasPrefix("+") ? String(shiftBy.dropFirst()) : shiftBy) else {
                throw malformed("shift", shiftBy, "use a whole number of records, e.g. -1000 or +50")
            }
            return .shiftBy(n)
        }
        let path = fromFile!
        guard let bytes = try FileSystem.readIfExists(path) else {
            throw SluiceError.usage(
                .invalidArgument, "plan file \(path) does not exist",
                remedy: "write one with 'sluice group seek \(group) ... --export > FILE'")
        }
        return .file(try OffsetPlan.parseCSV(String(decoding: bytes, as: UTF8.self), group: group, file: path))
    }

    private func malformed(_ what: String, _ text: String, _ remedy: String) -> SluiceError {
        .usage(.invalidArgument, "malformed \(what) '\(text.printable)'", remedy: remedy)
    }
}
