/// Issue 2's speed cases: produce to and consume from one partition, each
/// against the disk's own limit for the same bytes (`dd conv=fdatasync`, `cat`).
enum ProduceConsumeCases {
    static let produceTarget = Target.recordsPerSecond(atLeast: 3_000_000)
    static let consumeTarget = Target.recordsPerSecond(atLeast: 6_000_000)
    static let memoryTarget = Target.peakRSS(below: 100_000_000)

    static func table(_ sizes: BenchSizes) -> BenchTable {
        let lines = Format.count(sizes.lines)
        let large = Format.count(sizes.largeLines)
        return BenchTable(
            title: "Produce and consume (issue 2)",
            explanation: """
                One partition. Produce cases write a fresh topic every run and exit only once everything is fsynced; their \
                baseline copies the same input file with `dd bs=1M conv=fdatasync`. Consume cases print every record to \
                /dev/null; their baseline is `cat` of the same segment files. Value lines are JSON of 130–170 bytes; keyed \
                records are `produce --json` objects with a Zipf-distributed key, a 100–500-byte JSON value and headers on \
                one in four. The \(large) rows show that peak memory does not grow with the input.
                """,
            cases: [
                produce("produce \(lines) lines", .valueLines, sizes.lines, targets: [produceTarget, memoryTarget]),
                produce(
                    "produce \(lines) lines --compression zstd", .valueLines, sizes.lines,
                    options: ["--compression", "zstd"], targets: [memoryTarget]),
                produce("produce --json \(lines) keyed records with headers", .keyedJSON, sizes.lines, targets: [memoryTarget]),
                consume("consume \(lines) lines", lines: sizes.lines, targets: [consumeTarget, memoryTarget]),
                consume("consume --json \(lines) lines", lines: sizes.lines, options: ["--json"], targets: [memoryTarget]),
                produce("produce \(large) lines", .valueLines, sizes.largeLines, targets: [produceTarget, memoryTarget]),
                consume("consume \(large) lines", lines: sizes.largeLines, targets: [consumeTarget, memoryTarget]),
            ])
    }

    static func produce(
        _ name: String, _ shape: RecordGenerator.Shape, _ records: Int, options: [String] = [],
        targets: [Target]
    ) -> BenchCase {
        BenchCase(name: name, targets: targets) { bench in
            let input = try bench.dataset(shape, records: records)
            let copy = bench.path("dd-copy")
            return PreparedCase(
                workload: Workload(records: records, bytes: input.bytes),
                timed: sluiceProduce(bench, input, options: options),
                baseline: Timed(
                    label: "dd conv=fdatasync",
                    command: Command(["dd", "if=\(input.path)", "of=\(copy)", "bs=1M", "conv=fdatasync", "status=none"])))
        }
    }

    static func consume(_ name: String, lines: Int, options: [String] = [], targets: [Target]) -> BenchCase {
        BenchCase(name: name, targets: targets) { bench in
            let topic = try filledLinesTopic(bench, lines: lines)
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: sluiceConsume(bench, topic, options: options),
                baseline: Timed(label: "cat segments", command: Command(["cat"] + topic.logFiles)))
        }
    }

    /// `sluice produce` of a data set into a fresh one-partition topic (recreated before each run).
    static func sluiceProduce(_ bench: Workbench, _ input: Dataset, options: [String] = []) -> Timed {
        let topic = "produce-\(input.shape.rawValue)"
        return Timed(
            label: "sluice produce", command: bench.produce(topic, input, options: options),
            beforeEach: { try bench.recreateTopic(topic) })
    }

    /// `sluice consume` of a whole topic to /dev/null.
    static func sluiceConsume(_ bench: Workbench, _ topic: TopicOnDisk, options: [String] = []) -> Timed {
        Timed(label: "sluice consume", command: bench.sluiceCommand(["consume", topic.name] + options))
    }

    /// The value-lines data set of `lines` records, produced once into its own topic.
    static func filledLinesTopic(_ bench: Workbench, lines: Int) throws -> TopicOnDisk {
        try bench.filledTopic("lines-\(lines)", from: try bench.dataset(.valueLines, records: lines))
    }
}
