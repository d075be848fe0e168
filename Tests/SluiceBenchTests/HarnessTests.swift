import Testing

@testable import sluice_bench

@Suite struct StatisticsTests {
    @Test func medianAndRangeOfAnOddCount() {
        let spread = Spread([5, 1, 4, 2, 3])
        #expect(spread.median == 3)
        #expect(spread.minimum == 1)
        #expect(spread.maximum == 5)
    }

    @Test func medianOfAnEvenCountInterpolates() {
        #expect(Spread([4, 1, 3, 2]).median == 2.5)
        #expect(Spread([7]).median == 7)
    }

    @Test func summaryTakesTheLargestPeakAndRatesAtTheMedian() {
        let summary = Summary([
            Sample(wallSeconds: 2, cpuSeconds: 1, peakRSSBytes: 10),
            Sample(wallSeconds: 1, cpuSeconds: 3, peakRSSBytes: 30),
            Sample(wallSeconds: 4, cpuSeconds: 2, peakRSSBytes: 20),
        ])
        #expect(summary.runs == 3)
        #expect(summary.peakRSSBytes == 30)
        #expect(summary.cpu.median == 2)
        #expect(summary.rate(1_000) == 500)
    }
}

@Suite struct GeneratorTests {
    func lines(_ shape: RecordGenerator.Shape, seed: UInt64, _ range: Range<Int>) -> [String] {
        let generator = RecordGenerator(shape: shape, seed: seed)
        var bytes: [UInt8] = []
        for index in range { generator.appendLine(index, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func theSameSeedGivesTheSameBytesInAnyChunking() {
        let whole = lines(.keyedJSON, seed: 7, 0..<200)
        #expect(whole == lines(.keyedJSON, seed: 7, 0..<50) + lines(.keyedJSON, seed: 7, 50..<200))
        #expect(whole != lines(.keyedJSON, seed: 8, 0..<200))
    }

    @Test func valueLinesAreJSONObjectsOf130To170Bytes() {
        let generated = lines(.valueLines, seed: 1, 0..<2_000)
        #expect(generated.count == 2_000)
        #expect(generated.allSatisfy { (130...170).contains($0.utf8.count) && $0.hasPrefix("{\"id\":") && $0.hasSuffix("\"}") })
        #expect(Set(generated.map(\.utf8.count)).count > 20)
    }

    @Test func keyedRecordsHaveTimestampsSomeHeadersAndValuesOf100To500Bytes() throws {
        let generated = lines(.keyedJSON, seed: 1, 0..<2_000)
        let withHeaders = generated.filter { $0.contains("\"headers\":[") }.count
        #expect((350...650).contains(withHeaders))
        #expect(generated[3].contains("\"timestamp\":\(RecordGenerator.timestamp(ofRecord: 3)),"))
        for line in generated {
            let value = try #require(line.firstRange(of: "\"value\":{")).lowerBound
            let length = line[value...].utf8.count - "\"value\":".utf8.count - "}".utf8.count
            #expect((100...500).contains(length), "value of \(length) bytes in \(line)")
        }
    }

    @Test func keyedLinesAreAKeyTheSeparatorAndAValueOf130To170Bytes() throws {
        let generated = lines(.keyedLines, seed: 1, 0..<2_000)
        for line in generated {
            let parts = line.split(separator: Character(RecordGenerator.keySeparator), maxSplits: 1)
            #expect(parts.count == 2 && parts[0].hasPrefix("user-") && (130...170).contains(parts[1].utf8.count), "\(line)")
        }
        #expect(Set(generated.map { $0.prefix { $0 != "|" } }).count > 100)
        #expect(RecordGenerator.Shape.keyedLines.produceOptions == ["--key-separator", "|"])
    }

    @Test func zipfKeysAreSkewedTowardsLowRanks() {
        let zipf = ZipfDistribution(count: 10_000, exponent: 1.1)
        var rng = SplitMix64(seed: 3)
        let ranks = (0..<20_000).map { _ in zipf.rank(&rng) }
        #expect(ranks.allSatisfy { (1...10_000).contains($0) })
        let first = ranks.filter { $0 == 1 }.count
        let tenth = ranks.filter { $0 == 10 }.count
        #expect(first > 5 * tenth)
        #expect(Set(ranks).count > 1_000)
    }
}

@Suite struct ReportTests {
    func result(wall: Double, baseline: Double, rss: Int64 = 20_000_000, targets: [Target]) -> CaseResult {
        CaseResult(
            name: "produce 1M lines", workload: Workload(records: 1_000_000, bytes: 150_000_000),
            timed: Summary([Sample(wallSeconds: wall, cpuSeconds: 0.2, peakRSSBytes: rss)]), timedCommand: "sluice produce t",
            baselineLabel: "dd conv=fdatasync", baselineCommand: "dd if=x of=y",
            baseline: Summary([Sample(wallSeconds: baseline, cpuSeconds: 0.1, peakRSSBytes: 1)]), targets: targets)
    }

    @Test func wallTimeAndOutputSizeTargets() {
        let quick = result(wall: 0.2, baseline: 0.1, targets: [.wallTime(below: 0.3)])
        #expect(Report.verdict(.wallTime(below: 0.3), quick).met)
        #expect(!Report.verdict(.wallTime(below: 0.1), quick).met)
        var sized = result(wall: 1, baseline: 1, targets: [.outputSizeRatio(atMost: 1.05)])
        sized.outputBytes = (104, 100)
        #expect(Report.verdict(.outputSizeRatio(atMost: 1.05), sized).met)
        sized.outputBytes = (106, 100)
        #expect(!Report.verdict(.outputSizeRatio(atMost: 1.05), sized).met)
    }

    @Test func aThroughputShareIsTheInverseOfTheWallTimeRatio() {
        let share = Target.baselineThroughputShare(atLeast: 0.7)
        #expect(Report.verdict(share, result(wall: 1.4, baseline: 1, targets: [share])).text == "≥ 70% of baseline's throughput: met (71%)")
        #expect(
            Report.verdict(share, result(wall: 2, baseline: 1, targets: [share])).text == "≥ 70% of baseline's throughput: **missed** (50%)"
        )
    }

    @Test func formatsFiguresWithTheirUnits() {
        #expect(Format.fixed(3.14159, 2) == "3.14")
        #expect(Format.fixed(0.005, 2) == "0.01")
        #expect(Format.fixed(2.5, 0) == "3")
        #expect(Format.seconds(0.2314) == "231 ms")
        #expect(Format.seconds(12.345) == "12.3 s")
        #expect(Format.rate(4_312_000) == "4.31 M/s")
        #expect(Format.megabytes(17_200_000) == "17.2 MB")
        #expect(Format.count(1_000_000) == "1M")
        #expect(Format.count(50_000) == "50k")
        #expect(Format.count(1_234) == "1234")
    }

    @Test func verdictsSayWhetherEachTargetWasMet() {
        let fast = result(
            wall: 0.25, baseline: 0.5, targets: [.recordsPerSecond(atLeast: 3_000_000), .peakRSS(below: 100_000_000), .ratio(atMost: 1.5)])
        #expect(fast.ratio == 0.5)
        #expect(
            fast.targets.map { Report.verdict($0, fast).text } == [
                "≥ 3.00 M/s: met (4.00 M/s)", "RSS < 100 MB: met (20.0 MB)", "≤ 1.50×: met (0.50×)",
            ])
        let slow = result(
            wall: 1, baseline: 0.5, rss: 150_000_000, targets: [.recordsPerSecond(atLeast: 3_000_000), .peakRSS(below: 100_000_000)])
        #expect(
            slow.targets.map { Report.verdict($0, slow).text } == [
                "≥ 3.00 M/s: **missed** (1.00 M/s)", "RSS < 100 MB: **missed** (150 MB)",
            ])
        #expect(
            Report.targetSummary([fast, slow]) == """
                ### Targets

                3 of 5 targets met. Missed:

                - produce 1M lines: ≥ 3.00 M/s: **missed** (1.00 M/s)
                - produce 1M lines: RSS < 100 MB: **missed** (150 MB)
                """)
    }

    @Test func tablesAreAlignedMarkdown() {
        var table = MarkdownTable([("case", .left), ("n", .right)])
        table.add(["a|b", "1"])
        table.add(["long name", "22"])
        #expect(
            table.render() == """
                | case      |   n |
                | --------- | --: |
                | a\\|b      |   1 |
                | long name |  22 |
                """)
    }

    @Test func reportRowsCarryRatesRatiosAndBaseline() {
        let row = Report.row(result(wall: 0.25, baseline: 0.5, targets: []))
        #expect(row[0] == "produce 1M lines")
        #expect(row[4] == "4.00 M/s")
        #expect(row[5] == "600 MB/s")
        #expect(row[8] == "dd conv=fdatasync")
        #expect(row[10] == "300 MB/s")
        #expect(row[11] == "0.50×")
    }

    @Test func commandsAreShownAsAShellUserWouldTypeThem() {
        let command = Command(["kcat", "-P", "-l", "my file"], environment: ["LD_LIBRARY_PATH": "/x", "RUST_LOG": nil])
        #expect(command.display == "env -u RUST_LOG LD_LIBRARY_PATH=/x kcat -P -l 'my file' > /dev/null")
    }

    @Test func optionsRejectUnknownArgumentsAndQuickSkipsThePeer() throws {
        #expect(throws: (any Error).self) { try BenchOptions.parse(["--fast"]) }
        #expect(throws: (any Error).self) { try BenchOptions.parse(["--repetitions", "0"]) }
        let quick = try BenchOptions.parse(["--quick", "--report", "B.md"])
        #expect(quick.runsPeer == false && quick.report == "B.md" && quick.plan.repetitions == 3)
        #expect(try BenchOptions.parse(["--quick", "--peer"]).runsPeer)
        #expect(try BenchOptions.parse([]).runsPeer)
    }
}
