import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceSystem

struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Inspect and verify archives written by 'sluice export', without importing them.",
        subcommands: [ArchiveInspect.self, ArchiveVerify.self])
}

struct ArchiveInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print an archive's manifest, per-partition contents and integrity.",
        discussion: """
            Reads the whole archive and verifies it as an import would (every batch CRC, every checksum in the \
            manifest and summary); exits 2 if it is damaged. --json prints {version: 1, archive, integrity, \
            manifest, summary} with the archive's own manifest.json and summary.json.
            """)

    @OptionGroup var options: ArchiveReading

    func run() throws {
        let (manifest, summary, name) = try options.read()
        if options.json {
            try Output.printJSON([
                "version": 1, "archive": .string(name), "integrity": "ok", "manifest": manifest.json, "summary": summary.json,
            ])
            return
        }
        try Output.print(
            """
            archive \(name): sluice archive format \(ArchiveManifest.formatVersion), written \
            by \(manifest.tool) at \(Output.time(manifest.created)) (id \(manifest.archiveID))
            """
        )
        try Output.print(
            "topic '\(manifest.topic)': \(manifest.partitionCount) partitions; "
                + manifest.config.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        try Output.print(
            "filters: \(describe(manifest.filters))"
                + (manifest.groups.map { "; group offsets: " + $0.keys.sorted().joined(separator: ", ") } ?? ""))
        var table = Table([
            ("PARTITION", .right), ("START", .right), ("END", .right), ("FILES", .right), ("BYTES", .right),
            ("RECORDS", .right), ("OLDEST", .left), ("NEWEST", .left),
        ])
        for (partition, files) in summary.partitions {
            let range = manifest.partitions.first { $0.partition == partition }!
            table.add([
                String(partition), String(range.startOffset), String(range.endOffset), String(files.count),
                ByteCount.format(files.reduce(0) { $0 + $1.bytes }), String(files.reduce(0) { $0 + $1.records }),
                Output.time(files.compactMap(\.minTimestamp).min()), Output.time(files.compactMap(\.maxTimestamp).max()),
            ])
        }
        try Output.print(table.render())
        try Output.print(
            """
            integrity: ok — \(summary.partitions.reduce(0) { $0 + $1.files.count }) \
            files, \(summary.records) records; every batch CRC and every checksum verified
            """
        )
    }

    private func describe(_ f: ArchiveFilters) -> String {
        var parts: [String] = []
        if let p = f.partitions { parts.append("partitions " + p.map(String.init).joined(separator: ",")) }
        if let o = f.fromOffset { parts.append("from offset \(o)") }
        if let o = f.toOffset { parts.append("to offset \(o)") }
        if let t = f.since { parts.append("since \(Output.time(t))") }
        if let t = f.until { parts.append("until \(Output.time(t))") }
        if let g = f.group { parts.append("backlog of group '\(g)'") }
        return parts.isEmpty ? "none (the whole topic)" : parts.joined(separator: ", ")
    }
}

struct ArchiveVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an archive's integrity: exit 0 if intact, 2 if damaged.",
        discussion: "--json prints {version: 1, archive, ok, files, records, bytes}.")

    @OptionGroup var options: ArchiveReading

    func run() throws {
        let (_, summary, name) = try options.read()
        let files = summary.partitions.reduce(0) { $0 + $1.files.count }
        if options.json {
            try Output.printJSON([
                "version": 1, "archive": .string(name), "ok": true, "files": JSONValue(files),
                "records": .int(summary.records), "bytes": .int(summary.bytes),
            ])
        } else {
            try Output.print(
                "archive \(name): ok — \(files) files, \(summary.records) records, \(ByteCount.format(summary.bytes)) verified")
        }
    }
}

/// What `archive inspect` and `archive verify` take, and the verifying read they share.
struct ArchiveReading: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive, or - for standard input.", valueName: "file"))
    var archive: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(name: [.customShort("q"), .long], help: "Print no progress on stderr.")
    var quiet = false

    /// Reads and verifies the whole archive: its manifest, its summary, and the name to show.
    func read() throws -> (ArchiveManifest, ArchiveSummary, String) {
        if quiet { StandardErrorLog.quiet = true }
        let (input, name) = try ArchiveInputs.open(archive)
        let progress = ProgressLine.archive("verifying")
        defer { progress?.0.clear() }
        let (manifest, summary) = try ArchiveInspection.read(input, name: name, progress: progress?.1)
        return (manifest, summary, name)
    }
}
