/// Names close to a mistyped one, for the "did you mean" of a message.
public enum Suggestions {
    /// Up to `limit` of `candidates` within a small edit distance of `name`
    /// (a third of its length, at least 2), or that it is a prefix of, closest first.
    public static func close(to name: String, in candidates: [String], limit: Int = 3) -> [String] {
        let target = Array(name.utf8)
        let allowed = max(2, target.count / 3)
        let scored = candidates.filter { $0 != name }.compactMap { candidate -> (String, Int)? in
            if candidate.hasPrefix(name) { return (candidate, 0) }
            let distance = editDistance(target, Array(candidate.utf8))
            return distance <= allowed ? (candidate, distance) : nil
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(limit).map(\.0)
    }

    /// " (did you mean 'a' or 'b'?)", or "" when nothing is close (names
    /// holding control characters are never suggested: they would garble the message).
    public static func didYouMean(_ name: String, in candidates: [String]) -> String {
        let printable = candidates.filter { $0.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } }
        let close = close(to: name, in: printable).map { "'\($0)'" }
        guard let last = close.last else { return "" }
        return " (did you mean " + (close.count == 1 ? last : close.dropLast().joined(separator: ", ") + " or " + last) + "?)"
    }

    /// Levenshtein distance over bytes (names are short).
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
