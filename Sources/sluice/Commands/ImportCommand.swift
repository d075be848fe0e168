import ArgumentParser
import SluiceCore
import SluiceLocal
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an archive written by 'sluice export', all or nothing.",
        discussion: """
            Into a new topic (the default; named by --topic or the archive), partitions get exactly the \
            archived offsets (--preserve-offsets). With --append, the records go after the end of an existing \
            topic's partitions: partition to partition when the partition counts match, otherwise keyed records \
            go where Kafka's partitioner sends them and unkeyed records are spread evenly.

            Every batch CRC and the archive's checksums are verified while the import is built in a staging \
            area inside the data directory; it becomes visible in one step only when all of it checked out. \
            A failed or killed import leaves nothing visible (a killed one's staging area is removed by the \
            next command), so it can simply be run again. --with-groups then restores the group offsets an \
            'export --with-groups' or '--group' recorded (one commit per group, kept in its history). \
            FILE - reads standard input, so 'sluice export t -o - | ssh host sluice import -' works.

            --json prints a summary (schema version 1: {version, topic, mode, dry_run, created, records, \
            archive: {id, tool, topic, records, bytes}, partitions: [{partition, first_offset, next_offset, \
            records}], groups_restored}).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The archive, or - for standard input.", valueName: "file"))
    var archive: String

    @Option(help: "The topic to import into (default: the archived topic's name).", completion: Completions.topics)
    var topic: String?

    @Flag(name: .customLong("preserve-offsets"), help: "Create the topic with exactly the archived offsets (the default).")
    var preserveOffsets = false

    @Flag(help: "Append to an existing topic, after the end of its partitions.")
    var append = false

    @Flag(name: .customLong("with-groups"), help: "Restore the consumer-group offsets the archive holds (offsets must be preserved).")
    var withGroups = false

    @Flag(name: .customLong("dry-run"), help: "Read and verify the archive and print what would happen; change nothing.")
    var dryRun = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func validate() throws {
        if preserveOffsets && append { throw ValidationError("--preserve-offsets and --append cannot be combined") }
        if withGroups && append { throw ValidationError("--with-groups needs the archived offsets, which --append moves") }
    }

    func run() throws {
        let directory = try dryRun ? common.open() : common.open(writing: "import into \(common.path)")
        let (input, name) = try ArchiveInputs.open(archive)
        var options = ArchiveImporter.Options()
        options.topic = topic
        options.mode = append ? .append : preserveOffsets ? .preserveOffsets : nil
        options.dryRun = dryRun
        options.groups = withGroups ? LocalStore(directory) : nil
        let progress = ProgressLine.archive(dryRun ? "verifying" : "importing")
        let result: ImportResult
        do {
            result = try ArchiveImporter(directory: directory, options: options).run(input, name: name, progress: progress?.1)
        } catch {
            progress?.0.clear()
            throw error
        }
        progress?.0.clear()
        if json {
            try Output.printJSON([
                "version": 1, "topic": .string(result.topic), "mode": .string(result.mode.rawValue), "dry_run": .bool(result.dryRun),
                "created": .bool(result.mode == .preserveOffsets), "records": .int(result.records),
                "archive": [
                    "id": .string(result.manifest.archiveID), "tool": .string(result.manifest.tool),
                    "topic": .string(result.manifest.topic), "records": .int(result.summary.records),
                    "bytes": .int(result.summary.bytes),
                ],
                "partitions": .array(
                    result.partitions.map {
                        [
                            "partition": JSONValue($0.partition), "first_offset": .int($0.firstOffset), "next_offset": .int($0.nextOffset),
                            "records": .int($0.records),
                        ]
                    }),
                "groups_restored": .array(result.restoredGroups.map { .string($0) }),
            ])
            return
        }
        var table = Table([("PARTITION", .right), ("FIRST", .right), ("NEXT", .right), ("RECORDS", .right)])
        for p in result.partitions where p.records > 0 || result.mode == .preserveOffsets {
            table.add([String(p.partition), String(p.firstOffset), String(p.nextOffset), String(p.records)])
        }
        try Output.print(table.render())
        let what =
            result.mode == .preserveOffsets
            ? "into new topic '\(result.topic)' (\(result.partitions.count) partitions, offsets preserved)"
            : "onto the end of topic '\(result.topic)'"
        let source = archive == "-" ? "the archive on standard input" : name
        try Output.print(
            "\(result.dryRun ? "dry run: verified the archive; would import" : "imported") \(result.records) records from \(source) \(what)"
        )
        if withGroups {
            let groups = result.dryRun ? (result.manifest.groups ?? [:]).keys.sorted() : result.restoredGroups
            try Output.print(
                groups.isEmpty
                    ? "the archive holds no consumer-group offsets"
                    : """
                    \(result.dryRun ? "would restore" : "restored") the committed \
                    offsets of \(groups.map { "'\($0)'" }.joined(separator: ", "))
                    """
            )
        }
    }
}

/// Opens the archive argument of import and archive commands.
enum ArchiveInputs {
    static func open(_ argument: String) throws -> (File, String) {
        if argument == "-" {
            if StandardStreams.inputIsTerminal {
                throw SluiceError.usage(
                    .invalidArgument, "standard input is a terminal, not an archive",
                    remedy: "pipe an archive in ('sluice export t -o - | sluice import -') or name a file")
            }
            return (StandardStreams.input, "on standard input")
        }
        do {
            return (try File.open(argument), argument)
        } catch let error as SluiceError where error.reason == .notFound {
            throw SluiceError.usage(.notFound, "archive \(argument) does not exist")
        }
    }
}
