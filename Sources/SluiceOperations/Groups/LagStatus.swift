import SluiceCore
import SluiceGroups
import SluiceStore

/// A partition's consumption status, in the spirit of Burrow. Evaluated in
/// this order from the lag now, the partition's last commits (at most
/// `OffsetsState.sampleLimit`) and whether a consumer holds its lease:
///
/// - `UNKNOWN`: the lag cannot be computed — the group never committed the
///   partition, or its topic or partition no longer exists.
/// - `OK`: the lag is 0.
/// - `REWOUND`: the most recent commit moved the offset backwards (a seek
///   or rollback to earlier records) and the group has not caught up since.
/// - `STOPPED`: lag > 0 and no consumer holds the partition's lease: nobody
///   is reading it.
/// - `STALLED`: lag > 0, a consumer holds the lease, but the committed
///   offset has not advanced for `stallAfter` (default 5 minutes).
/// - `WARN`: the consumer advances, but the lag grew over its last commits:
///   at least three commits recorded their log-end offsets, and the lag at
///   each was at least the lag at the one before and grew overall.
/// - `OK`: otherwise.
public enum LagStatus: String, Sendable, CaseIterable {
    case ok = "OK"
    case warn = "WARN"
    case stalled = "STALLED"
    case stopped = "STOPPED"
    case rewound = "REWOUND"
    case unknown = "UNKNOWN"

    public static let help = """
        UNKNOWN never committed, or topic/partition gone; OK lag 0; REWOUND the last commit moved the offset \
        backwards; STOPPED lag > 0 and no consumer holds the partition; STALLED lag > 0, a consumer holds it, but \
        the offset has not advanced for --stall-after; WARN the lag grew over the last 3 or more commits; OK otherwise
        """

    /// Parses `--fail-on`'s list: sluice's names, or Burrow's spellings (STOP,
    /// STALL, REWIND, and ERR for any of the three), in any case.
    public static func parseList(_ text: String) throws -> Set<LagStatus> {
        var statuses = Set<LagStatus>()
        for name in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.uppercased() }) {
            if let status = LagStatus(rawValue: name) { statuses.insert(status); continue }
            switch name {
            case "STOP": statuses.insert(.stopped)
            case "STALL": statuses.insert(.stalled)
            case "REWIND": statuses.insert(.rewound)
            case "ERR": statuses.formUnion([.stopped, .stalled, .rewound])
            default:
                throw SluiceError.usage(
                    .invalidArgument, "unknown status '\(name.printable)' in --fail-on",
                    remedy: "use \(allCases.map(\.rawValue).joined(separator: ", ")) (or Burrow's STOP, STALL, REWIND, ERR)")
            }
        }
        return statuses
    }

    /// How bad it is, for the worst-of over a topic or group.
    public var severity: Int {
        switch self {
        case .unknown: return -1
        case .ok: return 0
        case .rewound: return 1
        case .warn: return 2
        case .stalled: return 3
        case .stopped: return 4
        }
    }

    public static func classify(lag: Int64?, samples: [CommitSample], leased: Bool, now: Int64, stallAfterMillis: Int64) -> LagStatus {
        guard let lag else { return .unknown }
        if lag == 0 { return .ok }
        if samples.count >= 2, samples[samples.count - 1].offset < samples[samples.count - 2].offset { return .rewound }
        if !leased { return .stopped }
        if let advanced = lastAdvance(samples), now.subtractingSaturated(advanced) >= stallAfterMillis { return .stalled }
        let consumption = samples.suffix(while: \.byConsumer)
        let lags = consumption.filter { $0.logEndOffset >= 0 }.map { $0.logEndOffset.subtractingSaturated($0.offset) }
        if lags.count >= 3, zip(lags, lags.dropFirst()).allSatisfy({ $0 <= $1 }), lags.last! > lags.first! { return .warn }
        return .ok
    }

    /// When the committed offset last moved forward: the latest commit that
    /// advanced it, or the oldest known commit when none in view did.
    static func lastAdvance(_ samples: [CommitSample]) -> Int64? {
        for i in stride(from: samples.count - 1, to: 0, by: -1) where samples[i].offset > samples[i - 1].offset {
            return samples[i].time
        }
        return samples.first?.time
    }
}

/// Rates from a partition's last commits: records consumed and produced per
/// second over the consumers' commits since the last backwards move or the
/// last move by an administrator (which is where that consumption started).
struct CommitRates {
    var consumed: Double?
    var produced: Double?

    init(_ samples: [CommitSample]) {
        var first = samples.count - 1
        while first > 0, samples[first].byConsumer, samples[first - 1].offset <= samples[first].offset { first -= 1 }
        guard first >= 0, first < samples.count - 1 else { return }
        let a = samples[first], b = samples[samples.count - 1]
        let seconds = Double(b.time - a.time) / 1000
        guard seconds > 0 else { return }
        consumed = Double(b.offset - a.offset) / seconds
        if a.logEndOffset >= 0, b.logEndOffset >= 0 { produced = Double(b.logEndOffset - a.logEndOffset) / seconds }
    }

    /// Milliseconds to consume `lag` at the net rate, nil when it is not shrinking.
    static func eta(lag: Int64, consumed: Double?, produced: Double?) -> Int64? {
        if lag == 0 { return 0 }
        guard let consumed else { return nil }
        let net = consumed - (produced ?? 0)
        guard net > 0 else { return nil }
        // A group that barely outpaces its producer has an ETA of centuries: "never".
        return Int64(durationMillis: Double(lag) / net * 1000)
    }
}
