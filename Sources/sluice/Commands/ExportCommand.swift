import ArgumentParser
import SluiceCompression
import SluiceCore
import SluiceLocal
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a topic, or a slice of it, to a zstd-compressed tar archive.",
        discussion: """
            The archive is a POSIX tar stream compressed as one zstd stream, so 'tar --zstd -tvf FILE' lists it \
            and 'tar --zstd -xf FILE' unpacks it: manifest.json first (topic, config, filters, partitions, offset \
            ranges, every file and its size), then <topic>-<p>/<20-digit offset>.log segment files holding the \
            record batches exactly as stored, then summary.json (per-file CRC-32C, batch and record counts, \
            offsets, min/max timestamps). A range that starts or ends inside a batch is cut at record level; \
            .index and .timeindex files are rebuilt on import rather than archived.

            --to-offset and --until are exclusive; times select offsets through the time index, as Kafka's \
            offsetsForTimes does. --group G exports G's unconsumed backlog (its committed offset to the end; \
            the log start where it has none) and records G's offsets; --with-groups records every group's \
            committed offsets on the topic (clamped into the exported ranges), for 'import --with-groups'. \
            --json prints a summary (schema version 1: {version, topic, archive, \
            archive_id, dry_run, bytes, archive_bytes, records, elapsed_ms, partitions: [{partition, \
            start_offset, end_offset, files, bytes, records}]}); records are null in a dry run.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var topic: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The archive to write, or - for standard output.", valueName: "file"))
    var output: String

    @Option(
        name: [.customShort("p"), .long], parsing: .unconditionalSingleValue, help: "Export only this partition (repeatable; default all).")
    var partition: [Int] = []

    @Option(name: .customLong("from-offset"), help: "The first offset to export.")
    var fromOffset: Int64?

    @Option(name: .customLong("to-offset"), parsing: .unconditional, help: "Export offsets below this one.")
    var toOffset: Int64?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Export from the first record at or after this time (\(TimeParsing.timeFormatsSummary)).", valueName: "time"))
    var since: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Export up to the first record at or after this time (same formats as --since).", valueName: "time"))
    var until: String?

    @Option(
        help: ArgumentHelp("Export this consumer group's backlog: from its committed offsets to the end.", valueName: "group"),
        completion: Completions.groups)
    var group: String?

    @Flag(name: .customLong("with-groups"), help: "Record every consumer group's committed offsets on the topic in the archive.")
    var withGroups = false

    @Option(help: "zstd compression level, 1 to 19.")
    var level: Int32 = Zstd.defaultLevel

    @Option(help: "zstd worker threads (default: all cores).")
    var threads: Int?

    @Flag(name: .customLong("dry-run"), help: "Print what would be exported, and write nothing.")
    var dryRun = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let fromOffset, fromOffset < 0 { throw ValidationError("--from-offset must not be negative") }
        if let toOffset, toOffset < 0 { throw ValidationError("--to-offset must not be negative") }
        if let fromOffset, let toOffset, toOffset < fromOffset { throw ValidationError("--to-offset must not be below --from-offset") }
        if output == "-" && json && !dryRun {
            throw ValidationError("--json cannot be combined with -o - (the archive goes to standard output)")
        }
    }

    func run() throws {
        let directory = try common.open()
        let target = try directory.topic(topic)
        for p in partition { _ = try target.partition(p) }
        var request = ExportRequest()
        request.partitions = partition
        request.fromOffset = fromOffset
        request.toOffset = toOffset
        let now = WallClock.nowMillis()
        request.since = try since.map { try TimeParsing.parseTime($0, now: now) }
        request.until = try until.map { try TimeParsing.parseTime($0, now: now) }
        request.backlogOfGroup = group
        request.withGroups = withGroups
        let plan = try ExportPlan.make(target, request, groups: group != nil || withGroups ? LocalStore(directory) : nil)
        if dryRun { return try report(plan, nil, destination: output, elapsed: 0) }
        if output == "-" && StandardStreams.outputIsTerminal {
            throw SluiceError.usage(
                .invalidArgument, "refusing to write a compressed archive to a terminal",
                remedy: "redirect standard output, or pass -o FILE")
        }
        var options = ArchiveExporter.Options()
        options.level = level
        options.threads = threads ?? max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        options.tool = "sluice \(Sluice.version)"
        let started = WallClock.monotonicNanos()
        let out = output == "-" ? ArchiveOutput.standardOutput() : try ArchiveOutput.file(output)
        let progress = ProgressLine.archive("exporting")
        let result: ExportResult
        do {
            result = try ArchiveExporter(plan: plan, options: options).write(to: { try out.write($0) }, progress: progress?.1)
            try out.commit()
        } catch {
            progress?.0.clear()
            out.abandon()
            throw error
        }
        progress?.0.clear()
        try report(plan, result, destination: output, elapsed: Int64((WallClock.monotonicNanos() - started) / 1_000_000))
    }

    private func report(_ plan: ExportPlan, _ result: ExportResult?, destination: String, elapsed: Int64) throws {
        let partitions = plan.partitions.map { p -> (PartitionPlan, Int64?) in (p, result?.summary.records(of: p.partition.index)) }
        if json {
            try Output.printJSON([
                "version": 1, "topic": .string(plan.topic.name), "archive": .string(destination),
                "archive_id": JSONValue(result?.manifest.archiveID), "dry_run": .bool(result == nil),
                "bytes": .int(result?.tarBytes ?? plan.bytes), "archive_bytes": JSONValue(result?.archiveBytes),
                "records": JSONValue(result?.summary.records), "elapsed_ms": .int(elapsed),
                "partitions": .array(
                    partitions.map { p, records in
                        [
                            "partition": JSONValue(p.partition.index), "start_offset": .int(p.startOffset), "end_offset": .int(p.endOffset),
                            "files": JSONValue(p.files), "bytes": .int(p.bytes), "records": JSONValue(records),
                        ]
                    }),
            ])
            return
        }
        guard let result else {
            var table = Table([
                ("PARTITION", .right), ("START", .right), ("END", .right), ("OFFSETS", .right), ("FILES", .right), ("BYTES", .right),
            ])
            for (p, _) in partitions {
                table.add([
                    String(p.partition.index), String(p.startOffset), String(p.endOffset), String(p.endOffset - p.startOffset),
                    String(p.files), ByteCount.format(p.bytes),
                ])
            }
            try Output.print(table.render())
            try Output.print(
                """
                dry run: would export \(partitions.count) partition\(partitions.count == 1 ? "" : "s") of \
                '\(plan.topic.name)', \(ByteCount.format(plan.bytes)) before compression, to \(destination)
                """
            )
            return
        }
        let ratio = result.archiveBytes > 0 ? Double(result.tarBytes) / Double(result.archiveBytes) : 0
        StandardErrorLog.notice(
            """
            exported \(result.summary.records) records from \(partitions.count) partition\(partitions.count == 1 ? "" : "s") of \
            '\(plan.topic.name)' to \(destination == "-" ? "standard output" : destination): \(ByteCount.format(result.tarBytes)) → \
            \(ByteCount.format(result.archiveBytes)) (ratio \((ratio * 100).rounded() / 100)) in \(TimeParsing.formatDuration(elapsed))
            """
        )
    }
}
