/// Number formatting for the tables (no Foundation): fixed decimals, and units
/// chosen so each figure keeps three or four significant digits.
enum Format {
    /// `value` rounded to `decimals` places, e.g. fixed(3.14159, 2) == "3.14".
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        let whole = scaled / Int64(scale)
        guard decimals > 0 else { return sign + String(whole) }
        let fraction = String(scaled % Int64(scale))
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// Three significant digits for values from 0.001 up; more digits are kept
    /// before the point (1234.5 → "1235").
    static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100 { return fixed(value, 0) }
        if magnitude >= 10 { return fixed(value, 1) }
        if magnitude >= 1 { return fixed(value, 2) }
        return fixed(value, 3)
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? significant(value * 1000) + " ms" : significant(value) + " s"
    }

    /// A range of seconds in the unit of its upper end, e.g. "212–240 ms".
    static func secondsRange(_ low: Double, _ high: Double) -> String {
        high < 1 ? "\(significant(low * 1000))–\(significant(high * 1000)) ms" : "\(significant(low))–\(significant(high)) s"
    }

    /// Records (or anything) per second: "3.21 M/s", "512 k/s".
    static func rate(_ perSecond: Double) -> String {
        if perSecond >= 1e6 { return significant(perSecond / 1e6) + " M/s" }
        if perSecond >= 1e3 { return significant(perSecond / 1e3) + " k/s" }
        return significant(perSecond) + " /s"
    }

    /// Decimal megabytes, as dd and disk vendors count them.
    static func megabytes(_ bytes: Double) -> String { significant(bytes / 1e6) + " MB" }

    static func ratio(_ value: Double) -> String { fixed(value, 2) + "×" }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 0) + "%" }

    /// Round record counts the way people say them: 1000000 → "1M", 50000 → "50k".
    static func count(_ value: Int) -> String {
        if value >= 1_000_000 && value % 1_000_000 == 0 { return "\(value / 1_000_000)M" }
        if value >= 1_000 && value % 1_000 == 0 { return "\(value / 1_000)k" }
        return String(value)
    }
}

/// A Markdown table padded into columns, so it reads the same in a terminal
/// and in BENCHMARKS.md.
struct MarkdownTable {
    enum Alignment { case left, right }

    let columns: [(title: String, alignment: Alignment)]
    private(set) var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        self.columns = columns.map { (title: $0.0, alignment: $0.1) }
    }

    mutating func add(_ cells: [String]) {
        precondition(cells.count == columns.count, "a row needs one cell per column")
        rows.append(cells.map { $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") })
    }

    func render() -> String {
        let widths = columns.indices.map { column in
            max(3, ([columns[column].title] + rows.map { $0[column] }).map(\.count).max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.indices.map { column -> String in
                let padding = String(repeating: " ", count: widths[column] - cells[column].count)
                return columns[column].alignment == .left ? cells[column] + padding : padding + cells[column]
            }
            return "| " + padded.joined(separator: " | ") + " |"
        }
        let rule = columns.indices.map { column -> String in
            let dashes = String(repeating: "-", count: widths[column] - 1)
            return columns[column].alignment == .left ? "-" + dashes : dashes + ":"
        }
        return ([line(columns.map(\.title)), "| " + rule.joined(separator: " | ") + " |"] + rows.map(line)).joined(separator: "\n")
    }
}
