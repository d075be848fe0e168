import SluiceCore

/// Issue 8 §4: costs that must not grow with the data. One partition of keyed
/// records grows through `sizes`; at each size `topic describe` (O(partitions))
/// and a lookup by timestamp (O(log n) through the time index) are timed.
enum GrowthCases {
    static let topic = "growing"
    /// "Flat": at most this many times the time at the smallest size (both are
    /// dominated by starting the process; a linear cost would be 100x at 10^7).
    static let flatTarget = Target.ratio(atMost: 1.5)

    static func table(_ sizes: BenchSizes) -> BenchTable {
        let first = sizes.growth[0]
        return BenchTable(
            title: "Cost growth (issue 8 §4)",
            explanation: """
            One partition of keyed records (\(sizes.growth.map(Format.count).joined(separator: " → "))) grown between \
            rows. At the smallest size the baseline is a command that does the same start-up work without the cost \
            being measured (`topic list`; reading the first record); at larger sizes it is the same command at the \
            smallest size, so the ratio is the growth. The lookup asks for the timestamp of the middle record.
            """,
            cases: sizes.growth.flatMap { records in
                [describe(records, smallest: first), timeLookup(records, smallest: first)]
            })
    }

    static func describeName(_ records: Int) -> String { "topic describe @ \(Format.count(records))" }
    static func lookupName(_ records: Int) -> String { "consume --from @TIME @ \(Format.count(records))" }

    static func describe(_ records: Int, smallest: Int) -> BenchCase {
        let name = describeName(records)
        return BenchCase(name: name, targets: records == smallest ? [] : [flatTarget]) { bench in
            _ = try bench.grow(topic, to: records)
            let floor = Timed(label: "topic list", command: bench.sluiceCommand(["topic", "list"]))
            return PreparedCase(workload: nil, timed: Timed(label: name, command: bench.sluiceCommand(["topic", "describe", topic])),
                                baseline: records == smallest ? .command(floor) : .row(describeName(smallest)))
        }
    }

    static func timeLookup(_ records: Int, smallest: Int) -> BenchCase {
        let name = lookupName(records)
        return BenchCase(name: name, targets: records == smallest ? [] : [flatTarget]) { bench in
            _ = try bench.grow(topic, to: records)
            let middle = TimeParsing.formatISO8601(RecordGenerator.timestamp(ofRecord: records / 2))
            let lookup = bench.sluiceCommand(["consume", topic, "--from", "@" + middle, "--max-messages", "1"])
            let firstRecord = Timed(label: "consume --from earliest --max-messages 1",
                                    command: bench.sluiceCommand(["consume", topic, "--from", "earliest", "--max-messages", "1"]))
            return PreparedCase(workload: nil, timed: Timed(label: name, command: lookup),
                                baseline: records == smallest ? .command(firstRecord) : .row(lookupName(smallest)))
        }
    }
}
