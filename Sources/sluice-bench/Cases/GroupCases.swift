import SluiceCore
import SluiceSystem

/// Issue 3's speed cases: `lag` over many partitions and groups, a seek by
/// time on a large partition, and the cost of committing while consuming.
enum GroupCases {
    static func table(_ sizes: BenchSizes) -> BenchTable {
        let partitions = sizes.lagTopics * sizes.lagPartitions
        let large = sizes.growth.last!, small = sizes.growth.first!
        return BenchTable(
            title: "Consumer groups (issue 3)",
            explanation: """
                `lag` reads \(sizes.lagGroups) groups' offsets on \(sizes.lagTopics) topics × \(sizes.lagPartitions) partitions \
                (\(Format.count(partitions)) partitions, each group moved \(sizes.lagSeeksPerGroup) times first, so history \
                exists); its baseline is `topic list`, the cost of starting sluice on the same directory. The seek looks up the \
                middle record's time in the \(Format.count(large))-record partition of the growth cases, against the same seek \
                on \(Format.count(small)) records. The commit case consumes \(Format.count(sizes.largeLines)) records in a group \
                committing every 10,000 (offsets reset before each run), against consuming them without a group. The \
                drain runs the README's recipe: ten dynamic members of one group, each writing to a reader that takes \
                \(drainReaderLinesPerSecond) lines a second, started at once on a 60-partition topic, against ten static \
                members (`--member I/10`) with the same readers (issue 16).
                """,
            cases: [lag(sizes), seekByTime(large: large, small: small), commitThroughput(sizes), drain(sizes)])
    }

    static let drainReaderLinesPerSecond = 2500

    /// Ten members drain a 60-partition topic, each through a slow reader.
    static func drain(_ sizes: BenchSizes) -> BenchCase {
        let partitions = 60, records = 60 * sizes.drainRecordsPerPartition
        return BenchCase(
            name: "drain: 10 dynamic members, readers at \(drainReaderLinesPerSecond) lines/s, \(Format.count(records)) records",
            targets: [.ratio(atMost: 1.5)]
        ) { bench in
            let topic = try bench.filledTopic("drain", from: try bench.dataset(.valueLines, records: records), partitions: partitions)
            let reader = bench.scratch + "/slow-reader.py"
            try FileSystem.writeAtomically(
                reader,
                Array(
                    """
                    import sys, time
                    rate = int(sys.argv[1]); chunk = max(1, rate // 20); n = 0
                    for line in sys.stdin.buffer:
                        n += 1
                        if n % chunk == 0: time.sleep(chunk / rate)

                    """.utf8))
            func members(_ membership: (Int) -> String) -> Command {
                let each = (0..<10).map { i in
                    """
                    \(bench.sluice) consume \(topic.name) --group drain \
                    \(membership(i)) | python3 \(reader) \(drainReaderLinesPerSecond) &
                    """
                }
                return Command(
                    ["/bin/sh", "-c", each.joined(separator: " ") + " wait"], environment: ["SLUICE_DATA_DIR": bench.dataDirectory])
            }
            let reset = bench.sluiceCommand(["group", "seek", "drain", "--topic", topic.name, "--to-earliest", "--execute"])
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(label: "10 dynamic", command: members { _ in "" }, beforeEach: { try bench.run(reset) }),
                baseline: Timed(label: "10 static", command: members { "--member \($0)/10" }, beforeEach: { try bench.run(reset) }))
        }
    }

    static func lag(_ sizes: BenchSizes) -> BenchCase {
        let name = "lag: \(sizes.lagGroups) groups × \(Format.count(sizes.lagTopics * sizes.lagPartitions)) partitions"
        return BenchCase(name: name, targets: [.wallTime(below: 0.3)]) { bench in
            let topics = try (0..<sizes.lagTopics).map { t in
                try bench.filledTopic(
                    "lag-\(t)", from: try bench.dataset(.valueLines, records: sizes.lagPartitions * 1000),
                    partitions: sizes.lagPartitions
                ).name
            }
            for group in 0..<sizes.lagGroups {
                for round in 0..<sizes.lagSeeksPerGroup {
                    let target = (round * 37 + group * 11) % 900
                    try bench.run(
                        bench.sluiceCommand(
                            ["group", "seek", "lag-group-\(group)", "--to-offset", String(target), "--execute"]
                                + topics.flatMap { ["--topic", $0] }))
                }
            }
            return PreparedCase(
                workload: nil,
                timed: Timed(label: "sluice lag", command: bench.sluiceCommand(["lag"])),
                baseline: Timed(label: "topic list", command: bench.sluiceCommand(["topic", "list"])))
        }
    }

    static func seekByTime(large: Int, small: Int) -> BenchCase {
        BenchCase(name: "group seek --to-datetime @ \(Format.count(large))", targets: [.wallTime(below: 0.05)]) { bench in
            func seek(_ records: Int) throws -> Command {
                let topic = try bench.keyedTopic(records: records)
                try bench.run(bench.sluiceCommand(["group", "seek", "seek-bench", "--topic", topic.name, "--to-earliest", "--execute"]))
                return bench.sluiceCommand([
                    "group", "seek", "seek-bench", "--topic", topic.name, "--to-datetime", GrowthCases.middleTime(topic),
                ])
            }
            return PreparedCase(
                workload: nil, timed: Timed(label: "seek dry run", command: try seek(large)),
                baseline: Timed(label: "same @ \(Format.count(small))", command: try seek(small)))
        }
    }

    static func commitThroughput(_ sizes: BenchSizes) -> BenchCase {
        BenchCase(
            name: "consume --group, commit every 10,000, \(Format.count(sizes.largeLines)) lines",
            targets: [.ratio(atMost: 1.3), ProduceConsumeCases.memoryTarget]
        ) { bench in
            let topic = try ProduceConsumeCases.filledLinesTopic(bench, lines: sizes.largeLines)
            let reset = bench.sluiceCommand(["group", "seek", "commit-bench", "--topic", topic.name, "--to-earliest", "--execute"])
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(
                    label: "consume --group",
                    command: bench.sluiceCommand(
                        ["consume", topic.name, "--group", "commit-bench", "--commit-every", "10000"]), beforeEach: { try bench.run(reset) }
                ),
                baseline: ProduceConsumeCases.sluiceConsume(bench, topic))
        }
    }
}
