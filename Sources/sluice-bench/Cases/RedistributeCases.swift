import SluiceSystem

/// Issue 5's speed cases: a group's backlog redistributed into ten times the
/// partitions (round-robin and key), and `topic migrate` of the same topic,
/// each against `cp -r` of the source partition directories.
enum RedistributeCases {
    static let partitions = 4
    static let factor = 10
    static let group = "stalled"
    static let memoryTarget = Target.peakRSS(below: 200_000_000)

    static func table(_ sizes: BenchSizes) -> BenchTable {
        let records = Format.count(sizes.backlogRecords)
        return BenchTable(
            title: "Redistribution and migration (issue 5)",
            explanation: """
                A backlog of \(records) keyed records (Zipf-distributed keys, 130–170-byte JSON values, produced with \
                `--key-separator`) on a topic of \(partitions) partitions, group `\(group)` committed at offset 0 before each run. \
                `redistribute start --execute` copies it into a temporary topic of \(partitions * factor) partitions with the \
                defaults (provenance header on every record, a durable checkpoint every 1 GiB, everything fsynced before G's \
                offsets move); the temporary topic is finished (`--force`) between runs. `topic migrate --execute` copies the \
                whole topic into \(partitions * factor) partitions by key (no provenance); the new topic is deleted between runs. \
                The baseline is the disk's limit for the same bytes: `cp -r` of the \(partitions) partition directories followed \
                by `sync` of the copies. Issue 5's targets: round-robin at least 70% of `cp`'s throughput, key at least \
                2,000,000 records/s, peak memory under 200 MB.
                """,
            cases: [
                redistribute(sizes, strategy: "round-robin", targets: [.baselineThroughputShare(atLeast: 0.7), memoryTarget]),
                redistribute(sizes, strategy: "key", targets: [.recordsPerSecond(atLeast: 2_000_000), memoryTarget]),
                migrate(sizes),
            ])
    }

    static func redistribute(_ sizes: BenchSizes, strategy: String, targets: [Target]) -> BenchCase {
        BenchCase(
            name: "redistribute start --strategy \(strategy): \(Format.count(sizes.backlogRecords)) records, "
                + "\(partitions) → \(partitions * factor) partitions", targets: targets
        ) { bench in
            let topic = try backlog(bench, records: sizes.backlogRecords)
            let name = "\(topic.name)-\(strategy)"
            let reset = bench.sluiceCommand(["group", "seek", group, "--topic", topic.name, "--to-earliest", "--execute"])
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(
                    label: "redistribute start",
                    command: bench.sluiceCommand(
                        [
                            "redistribute", "start", topic.name, "--group", group, "--factor", String(factor), "--into", name,
                            "--strategy", strategy, "--execute",
                        ]),
                    beforeEach: {
                        if try FileSystem.exists(recordPath(bench, name)) {
                            try bench.run(bench.sluiceCommand(["redistribute", "finish", name, "--force"]))
                        }
                        try bench.run(reset)
                    }),
                baseline: copyPartitions(bench, topic))
        }
    }

    static func migrate(_ sizes: BenchSizes) -> BenchCase {
        BenchCase(
            name: "topic migrate --strategy key: \(Format.count(sizes.backlogRecords)) records, "
                + "\(partitions) → \(partitions * factor) partitions", targets: [memoryTarget]
        ) { bench in
            let topic = try backlog(bench, records: sizes.backlogRecords)
            let name = "\(topic.name)-migrated"
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(
                    label: "topic migrate",
                    command: bench.sluiceCommand(
                        ["topic", "migrate", topic.name, "--to", name, "--partitions", String(partitions * factor), "--execute"]),
                    beforeEach: {
                        // A finished migration's record makes the same command a no-op: remove it with the topic.
                        try bench.deleteTopicIfPresent(name)
                        try FileSystem.removeFile(recordPath(bench, name))
                    }),
                baseline: copyPartitions(bench, topic))
        }
    }

    /// The topic with the backlog, produced once and shared by the cases.
    static func backlog(_ bench: Workbench, records: Int) throws -> TopicOnDisk {
        try bench.filledTopic("backlog-\(records)", from: try bench.dataset(.keyedLines, records: records), partitions: partitions)
    }

    /// Where sluice keeps the record of redistribution or migration `name`.
    static func recordPath(_ bench: Workbench, _ name: String) -> String {
        bench.dataDirectory + "/.sluice/redistributions/\(name).redistribution"
    }

    /// `cp -r` of the topic's partition directories into a fresh directory,
    /// then `sync` of every copied file (sluice fsyncs what it writes too).
    static func copyPartitions(_ bench: Workbench, _ topic: TopicOnDisk) -> Timed {
        let copy = bench.path("cp-copy")
        let sources = topic.partitionDirectories.joined(separator: " ")
        let script = "cd '\(bench.dataDirectory)' && cp -r --reflink=never \(sources) '\(copy)' && sync '\(copy)'/*/*"
        return Timed(
            label: "cp -r; sync", command: Command(["sh", "-c", script]),
            beforeEach: {
                try FileSystem.removeTree(copy)
                try FileSystem.makeDirectories(copy)
            })
    }
}
