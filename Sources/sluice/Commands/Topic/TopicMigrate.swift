import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

struct TopicMigrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a whole topic into a new topic with another partition count, translating groups' offsets.",
        discussion: """
            Kafka topics cannot shrink or re-spread their data; this copies every record (from each partition's \
            log start to its end at the start) into NEWTOPIC with --partitions N and TOPIC's config. By default \
            a dry run that prints the plan; --execute copies exactly once, resumable after kill -9 by running \
            the same command again (the record is .sluice/redistributions/NEWTOPIC.redistribution, shown by \
            'sluice redistribute status'). Stop TOPIC's producers first: records produced after the start are \
            not copied.

            --strategy key (default) puts each keyed record in Kafka's partition for its key among N, as a \
            producer to NEWTOPIC would (per-key order kept; unkeyed records go round in turn); round-robin \
            spreads whole batches evenly (per-key order NOT kept). Records keep key, value, headers and \
            timestamp; --provenance adds the header sluice.source = TOPIC/PARTITION/OFFSET.

            GROUPS (--group, repeatable; each must have offsets on TOPIC and be inactive, and is held still for \
            the whole run): each is committed on NEWTOPIC so that it skips nothing it had not consumed. For \
            every partition q of NEWTOPIC, the group resumes at the smallest offset of q holding a record whose \
            offset in TOPIC is at or after the group's committed offset on that record's partition (no committed \
            offset there: every record counts as unconsumed), or at q's end if there is none. Records after that \
            point that the group had consumed (from other partitions of TOPIC) are delivered again: duplicates, \
            never gaps. The groups' offsets on TOPIC are not changed.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic to copy.", completion: Completions.topics)
    var topic: String

    @Option(name: .customLong("to"), help: ArgumentHelp("The new topic (must not exist).", valueName: "newtopic"))
    var to: String

    @Option(name: [.customShort("p"), .long], parsing: .unconditional, help: "The new topic's partition count.")
    var partitions: Int

    @Option(help: ArgumentHelp("key or round-robin.", valueName: "strategy"))
    var strategy: String = RedistributionStrategy.key.rawValue

    @Option(
        name: .customLong("group"), help: ArgumentHelp("A group whose offsets to translate (repeatable).", valueName: "group"),
        completion: Completions.groups)
    var groups: [String] = []

    @Flag(inversion: .prefixedNo, help: "Add the sluice.source provenance header to every record.")
    var provenance = false

    @OptionGroup var options: CopyOptions

    func run() throws {
        let directory = try options.open(common, writing: "migrate topic '\(topic.printable)'")
        var request = MigrationRequest(topic: topic, to: to, partitions: partitions)
        request.strategy = try RedistributionStrategy.parse(strategy, allowed: TopicMigration.strategies)
        request.groups = groups
        request.provenance = provenance
        request.chunkBytes = try options.chunkBytes(default: request.chunkBytes)
        request.waitInactiveMillis = try options.waitMillis()
        guard
            let (record, seconds, done) = try options.run(
                directory, plan: { try TopicMigration.plan(directory, request) }, show: show,
                copy: { try TopicMigration.run(directory, request, progress: $0) })
        else { return }
        if done { return try Output.print("topic '\(topic)' was already migrated into '\(to)' at \(Output.time(record.finishedAt))") }
        var lines = [
            """
            copied \(record.copiedRecords) records (\(ByteCount.format(record.copiedBytes))) \
            of topic '\(topic)' into '\(to)' (\(partitions) partitions) in \(seconds)
            """
        ]
        for (group, offsets) in TopicMigration.translatedOffsets(record).sorted(by: { $0.key < $1.key }) {
            lines.append("group '\(group)' on '\(to)': " + offsets.keys.sorted().map { "\($0):\(offsets[$0]!)" }.joined(separator: " "))
        }
        try Output.print(lines.joined(separator: "\n"))
    }

    private func show(_ plan: RedistributionPlan) throws {
        let r = plan.record
        var lines = [
            CopyOptions.title(
                plan,
                """
                migration of topic '\(r.sourceTopic)' (\(r.sources.count) \
                partitions) into '\(r.targetTopic)' (\(r.targetPartitions) partitions)
                """
            ),
            "  strategy \(r.strategy.rawValue): \(r.strategy.ordering)",
            "  " + CopyOptions.provenanceLine(r),
            "  " + CopyOptions.estimate(plan),
        ]
        for group in r.migratedGroups {
            lines.append(
                "  group '\(group.group)': committed "
                    + group.committed.keys.sorted().map { "\($0):\(group.committed[$0]!)" }.joined(separator: " ")
                    + "; translated onto '\(r.targetTopic)' after the copy (see --help for the rule)")
        }
        try CopyOptions.show(plan, lines: lines)
    }
}
