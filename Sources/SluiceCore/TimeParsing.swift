/// Parsing and formatting of the times and durations every command accepts
/// (docs/ARCHITECTURE.md §5): ISO-8601 with or without milliseconds and zone (UTC when
/// none), epoch seconds or milliseconds, and durations like `90s`, `15m`, `2h`,
/// `3d`, `1h30m` or ISO-8601's `PT2H`. All values are milliseconds, Kafka's unit.
public enum TimeParsing {
    /// Epoch numbers below this are seconds, at or above it milliseconds.
    /// 10^11 seconds is the year 5138; 10^11 milliseconds is March 1973.
    public static let secondsMillisecondsBoundary: Int64 = 100_000_000_000

    public static let timeFormatsHelp =
        "use ISO-8601 (2024-05-01T12:00:00Z, 2024-05-01T12:00:00.250+02:00, 2024-05-01), epoch seconds or milliseconds, or 'now'"
    /// The time formats, for the help of every option that takes a time.
    public static let timeFormatsSummary =
        """
        TIME: ISO-8601 (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00, 2024-05-01; \
        without a zone it is UTC, whatever TZ says), epoch seconds or milliseconds, or now
        """
    public static let durationFormatsHelp = "use a number with a unit (500ms, 90s, 15m, 2h, 3d, 1w, 1h30m) or ISO-8601 (PT2H, P1DT6H)"

    /// Parses a point in time to epoch milliseconds.
    public static func parseTime(_ text: String, now: Int64) throws -> Int64 {
        let trimmed = text.trimmingSpaces
        if trimmed == "now" { return now }
        let bytes = Array(trimmed.utf8)
        if !bytes.isEmpty, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard bytes.count <= 18, let value = Int64(trimmed) else { throw malformedTime(text) }
            return value < secondsMillisecondsBoundary ? value * 1000 : value
        }
        guard let millis = parseISO8601(bytes) else { throw malformedTime(text) }
        return millis
    }

    /// The longest duration any option takes: 100 years. Durations are added
    /// to clocks and timestamps and turned into nanoseconds, which a larger one
    /// would overflow; nothing an operator means is longer.
    public static let maximumDurationMillis: Int64 = 36_500 * 86_400_000

    /// Parses a duration to milliseconds (always positive, at most `maximumDurationMillis`).
    public static func parseDuration(_ text: String) throws -> Int64 {
        let trimmed = text.trimmingSpaces
        let bytes = Array(trimmed.utf8)
        if bytes.first == UInt8(ascii: "-") {
            throw SluiceError.usage(
                .invalidArgument, "duration '\(text)' is negative: durations go from 1ms to 36500d (100 years)",
                remedy: "give the length alone (e.g. 1h); the option says which way it counts")
        }
        let parsed =
            bytes.first == UInt8(ascii: "P") || bytes.first == UInt8(ascii: "p")
            ? parseISODuration(bytes) : parseUnitDuration(bytes)
        guard let millis = parsed, millis > 0 else {
            throw SluiceError.usage(.invalidArgument, "malformed duration '\(text)'", remedy: durationFormatsHelp)
        }
        guard millis <= maximumDurationMillis else {
            throw SluiceError.usage(.invalidArgument, "duration '\(text)' is too long: durations go from 1ms to 36500d (100 years)")
        }
        return millis
    }

    /// The timestamps a record may carry: epoch milliseconds from 1970 to the
    /// end of the year 9999 (Kafka refuses negative ones; -1 means "none").
    public static let recordTimestamps: ClosedRange<Int64> = 0...253_402_300_799_999

    /// Checks a record timestamp given by a user against `recordTimestamps`.
    public static func checkRecordTimestamp(_ millis: Int64) throws {
        guard recordTimestamps.contains(millis) else {
            throw SluiceError.usage(
                .invalidArgument,
                """
                timestamp \(millis) is outside the range a record may have (0 \
                to \(recordTimestamps.upperBound), 1970-01-01 to 9999-12-31)
                """,
                remedy: "use epoch milliseconds from 0 (1970-01-01) to \(recordTimestamps.upperBound) (9999-12-31), or a time")
        }
    }

    /// Formats epoch milliseconds as ISO-8601 UTC with milliseconds.
    public static func formatISO8601(_ millis: Int64) -> String {
        let days = floorDiv(millis, 86_400_000)
        let msOfDay = millis - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000, mi = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60, ms = msOfDay % 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    /// Formats a duration in milliseconds compactly: `950ms`, `42s`, `3m12s`, `5h04m`, `2d03h`.
    public static func formatDuration(_ millis: Int64) -> String {
        if millis < 0 { return "-" + formatDuration(millis == .min ? .max : -millis) }
        if millis < 1000 { return "\(millis)ms" }
        let s = millis / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(pad(s % 60, 2))s" }
        if s < 86_400 { return "\(s / 3600)h\(pad(s / 60 % 60, 2))m" }
        return "\(s / 86_400)d\(pad(s / 3600 % 24, 2))h"
    }

    private static func malformedTime(_ text: String) -> SluiceError {
        .usage(.invalidArgument, "malformed time '\(text)'", remedy: timeFormatsHelp)
    }

    // MARK: ISO-8601 points in time

    private static func parseISO8601(_ b: [UInt8]) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
            (1...12).contains(month), (1...daysInMonth(year, month)).contains(day)
        else { return nil }
        var ms: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ") {
            i += 1
            guard let hour = digits(2), expect(":"), let minute = digits(2), hour < 24, minute < 60 else { return nil }
            ms = hour * 3_600_000 + minute * 60_000
            if expect(":") {
                guard let second = digits(2), second < 60 else { return nil }
                ms += second * 1000
                if expect(".") || expect(",") {
                    var scale: Int64 = 100
                    var any = false
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        ms += Int64(b[i] - 48) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
        }
        var offsetMs: Int64 = 0
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = digits(2), oh <= 23 else { return nil }
                var om: Int64 = 0
                if i < b.count {
                    _ = expect(":")
                    guard let m = digits(2), m < 60 else { return nil }
                    om = m
                }
                offsetMs = sign * (oh * 3_600_000 + om * 60_000)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        return days(fromCivil: year, month, day) * 86_400_000 + ms - offsetMs
    }

    // MARK: durations

    private static func parseUnitDuration(_ b: [UInt8]) -> Int64? {
        var i = 0
        var total: Int64 = 0
        var sawComponent = false
        while i < b.count {
            var value: Int64 = 0
            var fraction: Double = 0
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(b[i] - 48))
                guard !o1, !o2 else { return nil }
                value = s
                i += 1
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var scale = 0.1
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    fraction += Double(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
            }
            guard i > start else { return nil }
            let unitStart = i
            while i < b.count, (b[i] >= 97 && b[i] <= 122) || (b[i] >= 65 && b[i] <= 90) { i += 1 }
            let unit = String(decoding: b[unitStart..<i], as: UTF8.self).lowercased()
            let perUnit: Int64
            switch unit {
            case "ms": perUnit = 1
            case "s", "sec", "secs", "second", "seconds": perUnit = 1000
            case "m", "min", "mins", "minute", "minutes": perUnit = 60_000
            case "h", "hr", "hrs", "hour", "hours": perUnit = 3_600_000
            case "d", "day", "days": perUnit = 86_400_000
            case "w", "week", "weeks": perUnit = 604_800_000
            default: return nil
            }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: perUnit)
            let (sum, sumOverflow) = total.addingReportingOverflow(scaled)
            guard !overflow, !sumOverflow else { return .max }  // too long: parseDuration says so
            total = sum + Int64(fraction * Double(perUnit))
            sawComponent = true
        }
        return sawComponent ? total : nil
    }

    private static func parseISODuration(_ b: [UInt8]) -> Int64? {
        var i = 1
        var total: Double = 0
        var inTime = false
        var sawComponent = false
        while i < b.count {
            let c = b[i] | 0x20
            if c == UInt8(ascii: "t") { inTime = true; i += 1; continue }
            let start = i
            while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") { i += 1 }
            guard i > start, i < b.count,
                let value = Double(String(decoding: b[start..<i], as: UTF8.self).replacingComma)
            else { return nil }
            let unit = b[i] | 0x20
            i += 1
            let seconds: Double
            switch (inTime, unit) {
            case (false, UInt8(ascii: "w")): seconds = 604_800
            case (false, UInt8(ascii: "d")): seconds = 86_400
            case (true, UInt8(ascii: "h")): seconds = 3600
            case (true, UInt8(ascii: "m")): seconds = 60
            case (true, UInt8(ascii: "s")): seconds = 1
            default: return nil
            }
            total += value * seconds * 1000
            sawComponent = true
        }
        guard sawComponent else { return nil }
        return total < 9e18 ? Int64(total.rounded()) : .max  // too long: parseDuration says so
    }

    // MARK: calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms)

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }

    fileprivate var replacingComma: String { String(map { $0 == "," ? "." : $0 }) }
}
