import SluiceCore
import SluiceGroups
import SluiceStore
import Testing

@testable import SluiceOperations

/// Status classification, rates and the renderings of `lag`.
@Suite struct LagStatusTests {
    let now: Int64 = 1_700_000_600_000
    let stall: Int64 = 300_000

    func samples(_ points: [(Int64, Int64, Int64)]) -> [CommitSample] {
        points.map { CommitSample(time: now - $0.0 * 1000, offset: $0.1, logEndOffset: $0.2) }
    }

    func classify(_ lag: Int64?, _ points: [(Int64, Int64, Int64)], leased: Bool = true) -> LagStatus {
        LagStatus.classify(lag: lag, samples: samples(points), leased: leased, now: now, stallAfterMillis: stall)
    }

    @Test func eachStatusFromItsDefinition() {
        #expect(classify(nil, []) == .unknown)
        #expect(classify(0, [(10, 100, 100)], leased: false) == .ok)
        #expect(classify(50, [(30, 100, 150), (10, 40, 150)]) == .rewound)
        #expect(classify(50, [(30, 100, 150), (10, 40, 150)], leased: false) == .rewound)
        #expect(classify(50, [(30, 100, 150)], leased: false) == .stopped)
        #expect(classify(50, [(900, 100, 150), (400, 100, 150)]) == .stalled, "no advance for 900s")
        #expect(classify(50, [(900, 90, 150), (400, 100, 150)]) == .stalled, "last advance 400s ago")
        #expect(classify(50, [(90, 90, 150), (40, 100, 150)]) == .ok)
        #expect(classify(60, [(30, 10, 40), (20, 20, 60), (10, 30, 90)]) == .warn, "lag 30, 40, 60")
        #expect(classify(60, [(20, 20, 60), (10, 30, 90)]) == .ok, "two commits are not a trend")
        #expect(classify(60, [(30, 10, 40), (20, 20, 70), (10, 40, 90)]) == .warn, "lag 30, 50, 50")
        #expect(classify(60, [(30, 10, 60), (20, 30, 60), (10, 40, 90)]) == .ok, "lag 50, 30, 50 fell once")
        #expect(classify(60, [(30, 10, -1), (20, 20, -1), (10, 30, -1)]) == .ok, "no log ends recorded")
    }

    @Test func worstStatusWins() {
        #expect([LagStatus.ok, .warn, .rewound].max { $0.severity < $1.severity } == .warn)
        #expect([LagStatus.unknown, .ok].max { $0.severity < $1.severity } == .ok)
        #expect([LagStatus.stalled, .stopped, .warn].max { $0.severity < $1.severity } == .stopped)
    }

    @Test func ratesAndTimeToCatchUp() {
        let rates = CommitRates(samples([(30, 10, 100), (20, 20, 110), (10, 40, 120)]))
        #expect(rates.consumed == 1.5 && rates.produced == 1.0)
        #expect(CommitRates.eta(lag: 60, consumed: 1.5, produced: 1.0) == 120_000)
        #expect(CommitRates.eta(lag: 60, consumed: 1.0, produced: 1.5) == nil)
        #expect(CommitRates.eta(lag: 0, consumed: nil, produced: nil) == 0)
        let rewound = CommitRates(samples([(30, 500, 600), (20, 10, 600), (10, 30, 600)]))
        #expect(rewound.consumed == 2.0, "rates count from the last backwards move")
        #expect(CommitRates(samples([(10, 5, 5)])).consumed == nil)
    }

    /// Issue 14 D2: a group that keeps pace with its producer made the ETA
    /// overflow Int64 and trap; a near-zero net rate is "never".
    @Test func anEtaOfCenturiesIsNever() {
        #expect(CommitRates.eta(lag: 5_000, consumed: 1000.000_000_1, produced: 1000) == nil)
        #expect(CommitRates.eta(lag: .max, consumed: 2, produced: 1) == nil)
        #expect(CommitRates.eta(lag: 1000, consumed: .infinity, produced: 1) == 0)
        #expect(CommitRates.eta(lag: 1000, consumed: 11, produced: 1) == 100_000)
    }

    /// Issue 16 item 4: an offset moved by `group seek` is not consumption; rates
    /// and trends start again after it.
    @Test func anAdministrativeMoveIsNoConsumption() {
        var points = samples([(60, 10, 100), (50, 11, 100), (40, 1_000_000, 1_000_000)])
        points[2].byConsumer = false
        #expect(CommitRates(points).consumed == nil, "the seek is the newest commit: no consumption since")
        points += samples([(20, 1_000_200, 1_000_400)])
        #expect(CommitRates(points).consumed == 10, "200 records in the 20 s after the seek")
        #expect(CommitRates(points).produced == 20)
    }

    /// Issue 14 D3: figures at the ends of Int64 never trap.
    @Test func extremeFiguresSaturate() {
        #expect(LagReport.age(of: .min, now: now) == nil)
        #expect(LagReport.age(of: -1, now: now) == nil)
        #expect(LagReport.age(of: now + 5, now: now) == 0)
        #expect([Int64.max, 1].saturatingSum() == .max)
        #expect(classify(5, [(10, .min, .max), (5, .max, .max)]) == .ok)
        #expect(Int64(durationMillis: .nan) == nil && Int64(durationMillis: 1e30) == nil && Int64(durationMillis: 1.4) == 1)
    }

    @Test func sparklines() {
        #expect(Sparkline.render([0, 7, 14]) == "▁▅█")
        #expect(Sparkline.render([3, 3]) == "▄▄")
        #expect(Sparkline.render([0, 0]) == "▁▁")
        #expect(Sparkline.render([]) == "")
    }

    @Test func prometheusEscapesLabelsAndGroupsSamplesByMetric() {
        let row = PartitionLag(
            partition: 0, committed: 5, logStart: 0, logEnd: 8, lag: 3, lagMillis: 1500, lastCommit: 1_700_000_000_000,
            consumeRate: nil, produceRate: nil, etaMillis: nil, status: .stopped, holder: nil, samples: [])
        let report = LagReport(
            generatedAt: now,
            groups: [
                GroupLag(
                    group: "we\"ird\\grp\nx", active: false,
                    topics: [TopicLag(topic: "t", exists: true, partitions: [row, row], trend: [3])])
            ])
        let text = report.prometheus
        #expect(text.contains(#"sluice_group_lag_records{group="we\"ird\\grp\nx",topic="t",partition="0"} 3"#))
        #expect(text.contains(#"sluice_group_lag_seconds{group="we\"ird\\grp\nx",topic="t",partition="0"} 1.5"#))
        #expect(text.contains(#"sluice_group_last_commit_timestamp_seconds{group="we\"ird\\grp\nx",topic="t",partition="0"} 1700000000"#))
        #expect(text.contains(#"status="STOPPED"} 1"#))
        #expect(!text.contains("sluice_group_consume_rate"), "unknown values are left out")
        var seen: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let name = String(line.split(separator: " ")[2])
                #expect(!seen.contains(name), "\(name) appears twice")
                seen.append(name)
            } else if !line.hasPrefix("#") {
                #expect(line.hasPrefix(seen.last!), "samples follow their metric's HELP and TYPE")
            }
        }
    }
}
