import SluiceCore
import Testing

@Suite struct TimeParsingTests {
    let now: Int64 = 1_795_000_000_000

    static let times: [(String, Int64)] = [
        ("2024-05-01T12:00:00Z", 1_714_564_800_000),
        ("2024-05-01T12:00:00.250Z", 1_714_564_800_250),
        ("2024-05-01T12:00:00", 1_714_564_800_000),
        ("2024-05-01 12:00", 1_714_564_800_000),
        ("2024-05-01", 1_714_521_600_000),
        ("2024-05-01T14:00:00+02:00", 1_714_564_800_000),
        ("2024-05-01T07:30:00-0430", 1_714_564_800_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1714564800", 1_714_564_800_000),
        ("1714564800123", 1_714_564_800_123),
    ]
    static let durations: [(String, Int64)] = [
        ("500ms", 500), ("90s", 90_000), ("15m", 900_000), ("2h", 7_200_000), ("3d", 259_200_000), ("1w", 604_800_000),
        ("1h30m", 5_400_000), ("1.5h", 5_400_000), ("PT2H", 7_200_000), ("P1DT6H", 108_000_000), ("PT0.5S", 500), ("pt15m", 900_000),
    ]

    @Test(arguments: times)
    func acceptsISOAndEpochForms(text: String, millis: Int64) throws {
        #expect(try TimeParsing.parseTime(text, now: now) == millis)
    }

    @Test func nowIsNow() throws {
        #expect(try TimeParsing.parseTime("now", now: now) == now)
    }

    @Test(arguments: [
        "", "yesterday", "2024-13-01", "2024-02-30", "2024-05-01T25:00", "2024-05-01T12:00:00Zjunk", "12:00", "2024-05-01T12:00:00+25:00",
    ])
    func rejectsMalformedTimes(text: String) {
        #expect(throws: SluiceError.self) { try TimeParsing.parseTime(text, now: now) }
    }

    @Test(arguments: durations)
    func acceptsDurations(text: String, millis: Int64) throws {
        #expect(try TimeParsing.parseDuration(text) == millis)
    }

    @Test(arguments: ["", "15", "m", "15x", "-5m", "P", "PT", "P2H", "0s"])
    func rejectsMalformedDurations(text: String) {
        #expect(throws: SluiceError.self) { try TimeParsing.parseDuration(text) }
    }

    @Test func formatsRoundTrip() throws {
        for millis: Int64 in [0, 1_714_564_800_250, 951_782_400_000, 4_102_444_799_999] {
            #expect(try TimeParsing.parseTime(TimeParsing.formatISO8601(millis), now: now) == millis)
        }
        #expect(TimeParsing.formatISO8601(1_714_564_800_250) == "2024-05-01T12:00:00.250Z")
        #expect(TimeParsing.formatDuration(5_400_000) == "1h30m")
    }
}
