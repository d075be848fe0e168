/// Order statistics of repeated measurements. Medians, not means: on a shared
/// machine a few runs are slowed by other work, and the median ignores them.
struct Spread: Sendable, Equatable {
    var median: Double
    var minimum: Double
    var maximum: Double

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "a spread needs at least one value")
        let sorted = values.sorted()
        median = Spread.quantile(0.5, of: sorted)
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
    }

    /// The q-quantile of sorted values, interpolating between neighbours.
    private static func quantile(_ q: Double, of sorted: [Double]) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position)
        let above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}

/// The repetitions of one measured command, summarised.
struct Summary: Sendable, Equatable {
    var runs: Int
    var wall: Spread
    var cpu: Spread
    /// The largest peak RSS of any repetition.
    var peakRSSBytes: Int64

    init(_ samples: [Sample]) {
        runs = samples.count
        wall = Spread(samples.map(\.wallSeconds))
        cpu = Spread(samples.map(\.cpuSeconds))
        peakRSSBytes = samples.map(\.peakRSSBytes).max() ?? 0
    }

    /// Items per second at the median wall time.
    func rate(_ amount: Double) -> Double { amount / wall.median }
}
