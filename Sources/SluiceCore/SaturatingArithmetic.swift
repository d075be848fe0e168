/// Sums and differences of figures read from disk or clocks (offsets,
/// timestamps, lags), which a damaged or hostile file can push to the ends of
/// Int64: held at the bounds instead of trapping.
extension Int64 {
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    public func subtractingSaturated(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}

extension Sequence where Element == Int64 {
    public func saturatingSum() -> Int64 { reduce(0) { $0.addingSaturated($1) } }
}

extension BidirectionalCollection {
    /// The longest run at the end whose elements all satisfy `predicate`.
    public func suffix(while predicate: (Element) -> Bool) -> SubSequence {
        var start = endIndex
        while start > startIndex, predicate(self[index(before: start)]) { start = index(before: start) }
        return self[start...]
    }
}

extension Int64 {
    /// A duration in milliseconds computed in floating point (an ETA from a
    /// rate), or nil when it is not finite or longer than any duration means
    /// (`TimeParsing.maximumDurationMillis`): "never", not a trap.
    public init?(durationMillis: Double) {
        let rounded = durationMillis.rounded()
        guard rounded.isFinite, abs(rounded) <= Double(TimeParsing.maximumDurationMillis) else { return nil }
        self.init(rounded)
    }
}
