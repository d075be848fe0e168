import SluiceCore
import SluiceStorage
import SluiceStore

/// Where a consumer starts in each partition (`--from`): `earliest`,
/// `latest`, an absolute offset, `-N` (N records before the end, like kcat's
/// `-o -N`), or `@TIME` (the first record at or after a time).
public enum StartPosition: Equatable, Sendable {
    case earliest
    case latest
    case offset(Int64)
    case fromEnd(Int64)
    case time(Int64)

    public static let help = "use earliest, latest, an offset, -N (N before the end) or @TIME (e.g. @2024-05-01T12:00:00Z, @1714564800)"

    public static func parse(_ text: String, now: Int64 = WallClock.nowMillis()) throws -> StartPosition {
        switch text {
        case "earliest", "beginning", "start": return .earliest
        case "latest", "end": return .latest
        default: break
        }
        if text.hasPrefix("@") { return .time(try TimeParsing.parseTime(String(text.dropFirst()), now: now)) }
        if text.hasPrefix("-"), let n = Int64(text.dropFirst()), n >= 0 { return .fromEnd(n) }
        if let offset = Int64(text), offset >= 0 { return .offset(offset) }
        throw SluiceError.usage(.invalidArgument, "invalid start position '\(text.printable)'", remedy: help)
    }

    /// The offset this position means in `partition`, clamped to its range
    /// (an offset past the end means the end; before the start, the start).
    public func resolve(in partition: Partition) throws -> Int64 {
        let (start, end) = try partition.offsetRange()
        switch self {
        case .earliest: return start
        case .latest: return end
        case .offset(let o): return min(max(o, start), end)
        case .fromEnd(let n): return max(start, end - n)
        case .time(let t): return try partition.offset(forTimestamp: t).map { min(max($0, start), end) } ?? end
        }
    }

    /// The offset this position means in each of `partitions` of a store,
    /// clamped as `resolve(in:)` clamps: one batch-shaped ask for the ranges
    /// and, for a time, one for the offsets.
    public func resolve(in store: TopicStore, _ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        let ranges = try store.offsetRanges(partitions)
        if let missing = partitions.first(where: { ranges[$0] == nil }) { throw store.unavailable(missing) }
        let times: [TopicPartition: Int64]
        if case .time(let t) = self {
            times = try store.offsets(atOrAfter: Dictionary(partitions.map { ($0, t) }, uniquingKeysWith: { first, _ in first }))
        } else {
            times = [:]
        }
        var offsets: [TopicPartition: Int64] = [:]
        for key in partitions {
            let range = ranges[key]!
            switch self {
            case .earliest: offsets[key] = range.start
            case .latest: offsets[key] = range.end
            case .offset(let o): offsets[key] = range.clamp(o)
            case .fromEnd(let n): offsets[key] = max(range.start, range.end - n)
            case .time: offsets[key] = times[key].map(range.clamp) ?? range.end
            }
        }
        return offsets
    }

    /// Where a reader goes on when its position was deleted while it read
    /// (Kafka's `auto.offset.reset` for an out-of-range position): the log
    /// end for `latest`, the log start as recorded now otherwise.
    public func afterDeletion(in partition: Partition) throws -> Int64 {
        let (start, end) = try partition.currentOffsetRange(segments: try partition.segments())
        return self == .latest ? end : start
    }
}
