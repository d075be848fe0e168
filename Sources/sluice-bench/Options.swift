import SluiceCore

extension SluiceError.Reason {
    static let benchUsage = SluiceError.Reason("bench-usage")
}

/// Data-set sizes: the issues' sizes for a full run, small ones for QUICK.
struct BenchSizes: Sendable {
    /// Records of issue 2's produce/consume data set.
    var lines: Int
    /// A larger input, to show that peak memory does not grow with it.
    var largeLines: Int
    /// The sizes a partition grows through for the cost-growth cases, smallest first.
    var growth: [Int]
    /// The `lag` case: topics × partitions each, groups committing on all of them, seeks per group.
    var lagTopics: Int, lagPartitions: Int, lagGroups: Int, lagSeeksPerGroup: Int
    /// Keyed records in the export/import topic (3.5M is about 1.1 GB).
    var archiveRecords: Int
    /// Keyed ~150-byte records in the backlog redistributed ×10 (issue 5: 10M, about 1.5 GB).
    var backlogRecords: Int
    /// Records per partition of the 60-partition topic ten members drain through slow readers (issue 16).
    var drainRecordsPerPartition: Int

    static let full = BenchSizes(
        lines: 1_000_000, largeLines: 4_000_000, growth: [100_000, 1_000_000, 10_000_000],
        lagTopics: 10, lagPartitions: 100, lagGroups: 50, lagSeeksPerGroup: 4, archiveRecords: 3_500_000,
        backlogRecords: 10_000_000, drainRecordsPerPartition: 1000)
    static let quick = BenchSizes(
        lines: 50_000, largeLines: 200_000, growth: [1_000, 10_000, 100_000],
        lagTopics: 2, lagPartitions: 10, lagGroups: 5, lagSeeksPerGroup: 2, archiveRecords: 100_000,
        backlogRecords: 100_000, drainRecordsPerPartition: 100)
}

/// The command line of `sluice-bench` (driven by `make bench`).
struct BenchOptions: Sendable {
    var quick = false
    var sluice = ".build/release/sluice"
    var scratch = "bench-data"
    var report: String?
    /// Whether to run the kcat → Tansu comparison (default: not with --quick).
    var peer: Bool?
    var seed: UInt64 = 20_240_101
    var repetitions: Int?
    var label = "sluice-bench"
    /// Only the cases whose name contains this (nil: every case).
    var only: String?

    static let usage = """
        usage: sluice-bench [--quick] [--sluice PATH] [--scratch DIR] [--report FILE] [--[no-]peer]
                            [--seed N] [--repetitions N] [--label TEXT] [--only TEXT]
          --quick          small data sets and 3 runs (well under a minute; default 7); no Kafka-protocol peer
          --sluice PATH    the binary to measure (default .build/release/sluice)
          --scratch DIR    data sets go to DIR/run (removed at the end), peer tools to DIR/tools (kept)
          --report FILE    rewrite the generated section of FILE (BENCHMARKS.md) with the results
          --no-peer        skip the kcat → Tansu comparison (--peer: run it even with --quick)
          --label TEXT     how the run was started, for the report (e.g. "make bench")
          --only TEXT      run only the cases whose name contains TEXT (e.g. "drain")
        """

    var runsPeer: Bool { peer ?? !quick }
    func selects(_ benchCase: BenchCase) -> Bool { only.map { benchCase.name.contains($0) } ?? true }
    var sizes: BenchSizes { quick ? .quick : .full }
    var plan: RunPlan { RunPlan(warmups: 1, repetitions: repetitions ?? (quick ? 3 : 7)) }

    static func parse(_ arguments: [String]) throws -> BenchOptions {
        var options = BenchOptions()
        var remaining = arguments[...]
        func value(of flag: String) throws -> String {
            guard let next = remaining.popFirst() else { throw usageError("\(flag) needs a value") }
            return next
        }
        func number(of flag: String) throws -> Int {
            let text = try value(of: flag)
            guard let parsed = Int(text), parsed > 0 else { throw usageError("\(flag) needs a positive number, not '\(text)'") }
            return parsed
        }
        while let flag = remaining.popFirst() {
            switch flag {
            case "--quick": options.quick = true
            case "--peer": options.peer = true
            case "--no-peer": options.peer = false
            case "--sluice": options.sluice = try value(of: flag)
            case "--scratch": options.scratch = try value(of: flag)
            case "--report": options.report = try value(of: flag)
            case "--label": options.label = try value(of: flag)
            case "--only": options.only = try value(of: flag)
            case "--seed": options.seed = UInt64(try number(of: flag))
            case "--repetitions": options.repetitions = try number(of: flag)
            default: throw usageError("unknown argument '\(flag)'")
            }
        }
        return options
    }

    private static func usageError(_ message: String) -> SluiceError {
        SluiceError(.usage, .benchUsage, message, remedy: usage)
    }
}
