import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

struct RedistributeStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Copy a group's backlog into a temporary topic with --factor times the partitions, then move the group past it.",
        discussion: """
            By default a dry run: prints the plan (backlog per partition from G's committed offset to the end, \
            the temporary topic, the strategy and what it does to ordering, an estimate of the time) and changes \
            nothing. Partitions where G has no committed offset start as 'consume --group' would: at the log \
            start (--from earliest, Kafka's auto.offset.reset) or, with --from latest, at the end.

            With --execute: refuses while G is active (its consumers hold leases; --wait-inactive waits), holds \
            G still for the whole run, creates the temporary topic and the drain group, copies every backlog \
            record exactly once, and finally moves G's committed offsets to where the copy stopped, in one \
            commit ('group rollback G --steps 1' undoes it). Records produced to TOPIC after the start wait for \
            G; with --follow they are copied too until SIGINT or SIGTERM, and then G moves to where the copy stopped.

            Exactly once across crashes: the copy runs in chunks, each made durable and then committed in the \
            record; after kill -9, the same command resumes from the last chunk without copying a record twice. \
            SIGINT without --follow stops at a chunk boundary; run the same command again to resume.

            STRATEGIES: round-robin (default) spreads whole batches to the partition with the fewest records \
            (every partition within 5% of the mean for backlogs of 100,000 records or more); per-key order is \
            NOT kept. key puts each record in Kafka's partition for its key among the temporary partitions \
            (murmur2): per-key order is kept, unkeyed records go round in turn. source-partition sends source \
            partition p only to temporary partitions p*factor to p*factor+factor-1, spread evenly there.

            PROVENANCE: every record keeps its key, value, headers and timestamp and gains the header \
            sluice.source = TOPIC/PARTITION/OFFSET, the id a downstream consumer deduplicates on (for instance \
            records G's consumers processed but had not committed when they were stopped). Whole uncompressed \
            batches still go without decoding keys or values: each record's bytes are copied and only its length \
            and header count rewritten. --no-provenance copies whole batches byte for byte instead (only the base \
            offset, which the CRC does not cover, changes): the fastest path. Compressed batches with provenance, \
            batches cut by G's committed offset, and the key strategy re-encode records.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic with the backlog.", completion: Completions.topics)
    var topic: String

    @Option(name: .long, help: ArgumentHelp("The group whose backlog is copied.", valueName: "group"), completion: Completions.groups)
    var group: String

    @Option(parsing: .unconditional, help: "Temporary partitions per source partition.")
    var factor: Int = 10

    @Option(help: ArgumentHelp("The temporary topic's name (default TOPIC.GROUP.xFACTOR).", valueName: "name"))
    var into: String?

    @Option(help: ArgumentHelp("round-robin, key or source-partition.", valueName: "strategy"))
    var strategy: String = RedistributionStrategy.roundRobin.rawValue

    @Flag(help: "Keep copying records that arrive on TOPIC until SIGINT or SIGTERM, then hand off.")
    var follow = false

    @Flag(inversion: .prefixedNo, help: "Add the sluice.source provenance header to every record.")
    var provenance = true

    @Option(name: .long, help: ArgumentHelp("Where partitions without a committed offset start: earliest or latest.", valueName: "reset"))
    var from = OneOf(OffsetReset.earliest)

    @OptionGroup var options: CopyOptions

    func run() throws {
        let directory = try options.open(common, writing: "redistribute topic '\(topic.printable)'")
        var request = RedistributionRequest(topic: topic, group: group)
        request.factor = factor
        request.into = into
        request.strategy = try RedistributionStrategy.parse(strategy)
        request.follow = follow
        request.provenance = provenance
        request.reset = try from.value(
            or: SluiceError.usage(
                .invalidArgument, "invalid --from '\(from.word.printable)'",
                remedy: "use earliest or latest (Kafka's auto.offset.reset)"))
        request.chunkBytes = try options.chunkBytes(default: request.chunkBytes)
        request.waitInactiveMillis = try options.waitMillis()
        guard
            let (record, seconds, done) = try options.run(
                directory, plan: { try Redistributor.plan(directory, request) }, show: show,
                copy: { try Redistributor.start(directory, request, progress: $0) })
        else { return }
        if done {
            return try Output.print(
                """
                redistribution '\(record.name)' was handed off at \(Output.time(record.handedOffAt)); \
                nothing left to do but drain and finish it (see 'sluice redistribute status \(record.name)')
                """
            )
        }
        let spread = record.targets.map(\.records)
        try Output.print(
            """
            copied \(record.copiedRecords) records (\(ByteCount.format(record.copiedBytes))) of topic '\(record.sourceTopic)' \
            into '\(record.targetTopic)' \
            (\(record.targetPartitions) partitions, \(spread.min() ?? 0) to \(spread.max() ?? 0) records each) in \(seconds)
            group '\(group)' continues after the backlog; drain group '\(record.drainGroup!)' starts at the beginning \
            of every partition of '\(record.targetTopic)'
            drain it with 'sluice consume \(record.targetTopic) --group \(record.drainGroup!) --partition I' \
            (see 'sluice redistribute --help'), then 'sluice redistribute finish \(record.name)'
            """)
    }

    private func show(_ plan: RedistributionPlan) throws {
        let r = plan.record
        try CopyOptions.show(
            plan,
            lines: [
                CopyOptions.title(plan, "redistribution '\(r.name)'"),
                "  from topic '\(r.sourceTopic)' (\(r.sources.count) partitions), group '\(r.group!)'",
                """
                  into temporary topic '\(r.targetTopic)': \(r.targetPartitions) partitions \
                (\(r.sources.count) × \(r.factor!)), drain group '\(r.drainGroup!)'
                """,
                "  strategy \(r.strategy.rawValue): \(r.strategy.ordering)",
                "  " + CopyOptions.provenanceLine(r),
                "  " + (r.follow ? "follows TOPIC until SIGINT/SIGTERM; " : "") + CopyOptions.estimate(plan),
            ])
    }
}
