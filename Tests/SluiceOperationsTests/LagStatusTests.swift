import SluiceCore
import SluiceGroups
@testable import SluiceOperations
import Testing

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

    @Test func sparklines() {
        #expect(Sparkline.render([0, 7, 14]) == "▁▅█")
        #expect(Sparkline.render([3, 3]) == "▄▄")
        #expect(Sparkline.render([0, 0]) == "▁▁")
        #expect(Sparkline.render([]) == "")
    }

    @Test func prometheusEscapesLabelsAndGroupsSamplesByMetric() {
        let row = PartitionLag(partition: 0, committed: 5, logStart: 0, logEnd: 8, lag: 3, lagMillis: 1500, lastCommit: 1_700_000_000_000,
                               consumeRate: nil, produceRate: nil, etaMillis: nil, status: .stopped, holder: nil, samples: [])
        let report = LagReport(generatedAt: now, groups: [
            GroupLag(group: "we\"ird\\grp\nx", active: false, topics: [TopicLag(topic: "t", exists: true, partitions: [row, row], trend: [3])]),
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
