/// How much one run of a case processes, for records/s and MB/s.
struct Workload: Sendable {
    var records: Int
    var bytes: Int64
}

/// A command to time, with what must happen (untimed) before each run of it,
/// e.g. recreating the topic a produce writes into.
struct Timed {
    var label: String
    var command: Command
    var beforeEach: () throws -> Void = {}
    /// Cumulative CPU seconds of a companion process (a broker) to charge to
    /// each run as a delta, beside the child's own `wait4` figures.
    var companionCPUSeconds: (() -> Double)? = nil
}

/// A stated goal, checked and reported (never asserted: `make bench` measures).
enum Target: Sendable {
    case recordsPerSecond(atLeast: Double)
    case peakRSS(below: Int64)
    /// The wall-time ratio to the baseline, e.g. "stays flat" as the data grows.
    case ratio(atMost: Double)
    /// The throughput as a share of the baseline's on the same bytes (the
    /// inverse of the wall-time ratio), e.g. "at least 70% of `cp`'s".
    case baselineThroughputShare(atLeast: Double)
    /// The median wall time, for commands whose whole cost is bounded (lag, a seek).
    case wallTime(below: Double)
    /// The size of the case's output file over the baseline's (compression ratio).
    case outputSizeRatio(atMost: Double)
}

/// Everything a case needs once its fixtures exist. The baseline does the same
/// work by other means (or the same command on less data) and is timed in
/// alternation with the case, so both see the same machine.
struct PreparedCase {
    var workload: Workload?
    var timed: Timed
    var baseline: Timed
    /// Files the two commands write, compared by size after the runs.
    var outputs: (timed: String, baseline: String)? = nil
}

/// One benchmark: a name, what it is checked against, and how to set it up.
/// `prepare` makes (or reuses) the fixtures through the workbench and returns
/// the command to time; it runs once, before the warm-up.
struct BenchCase {
    var name: String
    var targets: [Target] = []
    var prepare: (Workbench) throws -> PreparedCase
}

/// Cases reported together, with what their baseline means and where the targets come from.
struct BenchTable {
    var title: String
    var explanation: String
    var cases: [BenchCase]
}
