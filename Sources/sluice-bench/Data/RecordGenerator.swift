#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a small, fast generator whose output depends only on its seed,
/// so every data set is the same on every machine and every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// A uniform integer in `range` (modulo bias is irrelevant at these sizes).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// Ranks 1...count drawn with probability proportional to 1/rank^exponent:
/// the few hot keys and long tail of real keyed traffic (users, devices).
struct ZipfDistribution: Sendable {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        precondition(count > 0, "a Zipf distribution needs at least one rank")
        var weights = (1...count).map { 1 / pow(Double($0), exponent) }
        var total = 0.0
        for i in weights.indices {
            total += weights[i]
            weights[i] = total
        }
        cumulative = weights.map { $0 / total }
    }

    func rank(_ rng: inout SplitMix64) -> Int {
        let u = rng.unit()
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < u { low = middle + 1 } else { high = middle }
        }
        return low + 1
    }
}

/// The records of the benchmark data sets. Record `i` depends only on the seed
/// and `i`, so a data set can be written in chunks (a partition grown step by
/// step) and still be the same bytes.
struct RecordGenerator: Sendable {
    enum Shape: String, Sendable, Hashable {
        /// One JSON value of 130–170 bytes per line, no key (issue 2's produce case).
        case valueLines = "value-lines"
        /// `produce --json` objects: a Zipf-distributed key, a JSON value of
        /// 100–500 bytes, headers on one record in four, explicit timestamps.
        case keyedJSON = "keyed-json"
        /// `KEY|VALUE` lines for `produce --key-separator '|'`: a Zipf-distributed
        /// key and a value as in `valueLines` (issue 5's ~150-byte backlog records).
        case keyedLines = "keyed-lines"

        var valueLengths: ClosedRange<Int> { self == .keyedJSON ? 100...500 : 130...170 }

        /// How `sluice produce` reads a file of this shape.
        var produceOptions: [String] {
            switch self {
            case .valueLines: []
            case .keyedJSON: ["--json"]
            case .keyedLines: ["--key-separator", RecordGenerator.keySeparator]
            }
        }
    }

    /// Between key and value in `keyedLines` (the keys and values never contain it).
    static let keySeparator = "|"

    /// The timestamp of record 0 in keyed data sets (2024-01-01T00:00:00Z);
    /// record `i` is `timestampSpacingMillis * i` later.
    static let firstTimestamp: Int64 = 1_704_067_200_000
    static let timestampSpacingMillis: Int64 = 1

    let shape: Shape
    let seed: UInt64
    private let keys = ZipfDistribution(count: 10_000, exponent: 1.1)

    init(shape: Shape, seed: UInt64) {
        self.shape = shape
        self.seed = seed
    }

    static func timestamp(ofRecord index: Int) -> Int64 {
        firstTimestamp + Int64(index) * timestampSpacingMillis
    }

    /// Appends record `index` as one input line (with its newline) to `line`.
    func appendLine(_ index: Int, to line: inout [UInt8]) {
        var rng = SplitMix64(seed: seed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
        let user = keys.rank(&rng)
        switch shape {
        case .valueLines:
            appendValue(index, user: user, rng: &rng, to: &line)
        case .keyedJSON:
            line.append(contentsOf: #"{"key":"user-\#(user)","timestamp":\#(RecordGenerator.timestamp(ofRecord: index)),"#.utf8)
            if rng.next() % 4 == 0 { appendHeaders(&rng, to: &line) }
            line.append(contentsOf: #""value":"#.utf8)
            appendValue(index, user: user, rng: &rng, to: &line)
            line.append(UInt8(ascii: "}"))
        case .keyedLines:
            line.append(contentsOf: "user-\(user)\(RecordGenerator.keySeparator)".utf8)
            appendValue(index, user: user, rng: &rng, to: &line)
        }
        line.append(UInt8(ascii: "\n"))
    }

    private static let events = ["page_view", "add_to_cart", "checkout", "search", "login", "logout", "refund", "review"]
    private static let words = [
        "alpha", "delivery", "express", "basket", "premium", "voucher", "standard", "mobile",
        "desktop", "returning", "campaign", "spring", "banner", "organic", "referral", "newsletter",
    ]
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A compact JSON object of exactly the drawn length: fixed fields (at most
    /// 83 bytes), then a `note` of words (compressible like real text) cut to fit.
    private func appendValue(_ index: Int, user: Int, rng: inout SplitMix64, to line: inout [UInt8]) {
        let length = rng.int(in: shape.valueLengths)
        let start = line.count
        let cents = rng.int(in: 0...99_999)
        line.append(contentsOf: #"{"id":\#(index),"user":"user-\#(user)","event":"\#(RecordGenerator.events[rng.int(in: 0...7)])","#.utf8)
        line.append(contentsOf: #""amount":\#(cents / 100).\#(cents % 100 / 10)\#(cents % 10),"note":""#.utf8)
        let noteEnd = start + length - 2
        while line.count < noteEnd {
            let word = RecordGenerator.words[rng.int(in: 0...15)].utf8
            line.append(contentsOf: word.prefix(noteEnd - line.count))
            if line.count < noteEnd { line.append(UInt8(ascii: " ")) }
        }
        line.append(contentsOf: #""}"#.utf8)
    }

    private func appendHeaders(_ rng: inout SplitMix64, to line: inout [UInt8]) {
        line.append(contentsOf: #""headers":[{"key":"trace-id","value":""#.utf8)
        appendHex(&rng, to: &line)
        line.append(contentsOf: #""}"#.utf8)
        if rng.next() % 2 == 0 { line.append(contentsOf: #",{"key":"source","value":"mobile"}"#.utf8) }
        line.append(contentsOf: "],".utf8)
    }

    private func appendHex(_ rng: inout SplitMix64, to line: inout [UInt8]) {
        var bits = rng.next()
        for _ in 0..<16 {
            line.append(RecordGenerator.hexDigits[Int(bits & 15)])
            bits >>= 4
        }
    }
}
