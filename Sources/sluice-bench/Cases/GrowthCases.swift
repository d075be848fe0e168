import SluiceCore

/// Issue 8 §4: costs that must not grow with the data. The same keyed records
/// fill one-partition topics of each size in `sizes` (each holds the first N
/// records of one stream: one partition at three sizes). At each size
/// `topic describe` (O(partitions)) and a lookup by timestamp (O(log n)
/// through the time index) are timed against the same command at the
/// smallest size, run in alternation with it.
enum GrowthCases {
    /// "Flat": at most this many times the time at the smallest size (both are
    /// dominated by starting the process; a linear cost would be 100x at 10^7).
    static let flatTarget = Target.ratio(atMost: 1.5)

    static func table(_ sizes: BenchSizes) -> BenchTable {
        let smallest = sizes.growth[0]
        return BenchTable(
            title: "Cost growth (issue 8 §4)",
            explanation: """
                One partition of keyed records at \(sizes.growth.map(Format.count).joined(separator: ", ")) records (the \
                same stream, cut at each size). At the smallest size the baseline does the same start-up work without the \
                cost in question (`topic list`; reading the first record); at larger sizes it is the same command on the \
                smallest partition, so the ratio is the growth. The lookup asks for the timestamp of the middle record.
                """,
            cases: sizes.growth.flatMap { records in
                [
                    growing(
                        "topic describe", records, smallest: smallest,
                        floor: ("topic list", { _ in ["topic", "list"] }),
                        arguments: { ["topic", "describe", $0.name] }),
                    growing(
                        "consume --from @TIME", records, smallest: smallest,
                        floor: (
                            "consume --from earliest --max-messages 1",
                            { ["consume", $0.name, "--from", "earliest", "--max-messages", "1"] }
                        ),
                        arguments: { ["consume", $0.name, "--from", "@" + middleTime($0), "--max-messages", "1"] }),
                ]
            })
    }

    /// `sluice ARGUMENTS(topic)` on the partition of `records` records, against
    /// the same at `smallest` records (or, at the smallest size, against `floor`).
    static func growing(
        _ what: String, _ records: Int, smallest: Int,
        floor: (label: String, arguments: (TopicOnDisk) -> [String]),
        arguments: @escaping (TopicOnDisk) -> [String]
    ) -> BenchCase {
        BenchCase(name: "\(what) @ \(Format.count(records))", targets: records == smallest ? [] : [flatTarget]) { bench in
            let topic = try bench.keyedTopic(records: records)
            let timed = Timed(label: what, command: bench.sluiceCommand(arguments(topic)))
            guard records != smallest else {
                return PreparedCase(
                    workload: nil, timed: timed,
                    baseline: Timed(label: floor.label, command: bench.sluiceCommand(floor.arguments(topic))))
            }
            let small = try bench.keyedTopic(records: smallest)
            return PreparedCase(
                workload: nil, timed: timed,
                baseline: Timed(label: "\(what) @ \(Format.count(smallest))", command: bench.sluiceCommand(arguments(small))))
        }
    }

    /// The timestamp of the topic's middle record, as `--from @TIME` takes it.
    static func middleTime(_ topic: TopicOnDisk) -> String {
        TimeParsing.formatISO8601(RecordGenerator.timestamp(ofRecord: topic.records / 2))
    }
}
