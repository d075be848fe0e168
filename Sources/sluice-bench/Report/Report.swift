import SluiceCore
import SluiceSystem

extension SluiceError.Reason {
    static let benchReport = SluiceError.Reason("bench-report")
}

/// The results of one table, or why it did not run.
struct TableOutcome {
    var table: BenchTable?
    var title: String
    var results: [CaseResult]
    var skipped: String?
}

/// Facts about the run printed above the tables.
struct RunHeader {
    var command: String
    var date: String
    var commit: String
    var plan: RunPlan
    var seed: UInt64
    var machine: Machine
}

/// Renders results as Markdown, for the terminal and for BENCHMARKS.md.
enum Report {
    static let beginMarker = "<!-- BEGIN: written by `make bench`; do not edit by hand -->"
    static let endMarker = "<!-- END: written by `make bench` -->"

    static func header(_ header: RunHeader) -> String {
        """
        Run \(header.date) on commit \(header.commit) with `\(header.command)`: \(header.plan.warmups) warm-up and \
        \(header.plan.repetitions) measured runs of every command, data seed \(header.seed).

        - CPU: \(header.machine.cpu)
        - Memory: \(header.machine.memory)
        - Disk (benchmark data): \(header.machine.disk)
        - Kernel: \(header.machine.kernel)
        - Load average at start: \(header.machine.load)
        """
    }

    /// A table's title, explanation, figures and exact commands.
    static func section(_ outcome: TableOutcome, displayRoot: String) -> String {
        var parts = ["### \(outcome.title)"]
        if let skipped = outcome.skipped {
            parts.append("Skipped: \(skipped)")
            return parts.joined(separator: "\n\n")
        }
        if let explanation = outcome.table?.explanation { parts.append(explanation) }
        parts.append(table(outcome.results))
        parts.append(
            "Commands (each run as a child process; its stderr goes to a file):\n\n"
                + commands(outcome.results).replacing(displayRoot, with: ""))
        return parts.joined(separator: "\n\n")
    }

    static func table(_ results: [CaseResult]) -> String {
        var table = MarkdownTable([
            ("case", .left), ("runs", .right), ("wall median", .right), ("min–max", .right), ("records/s", .right),
            ("MB/s", .right), ("CPU user+sys", .right), ("peak RSS", .right), ("baseline", .left), ("baseline median", .right),
            ("baseline MB/s", .right), ("÷ baseline", .right), ("targets", .left),
        ])
        for result in results { table.add(row(result)) }
        return table.render()
    }

    static func row(_ result: CaseResult) -> [String] {
        let timed = result.timed
        let wall = timed.wall
        return [
            result.name, String(timed.runs), Format.seconds(wall.median), Format.secondsRange(wall.minimum, wall.maximum),
            result.workload.map { Format.rate(timed.rate(Double($0.records))) } ?? "–",
            result.workload.map { Format.megabytes(timed.rate(Double($0.bytes))) + "/s" } ?? "–",
            Format.seconds(timed.cpu.median), Format.megabytes(Double(timed.peakRSSBytes)),
            result.baselineLabel, Format.seconds(result.baseline.wall.median),
            result.workload.map { Format.megabytes(result.baseline.rate(Double($0.bytes))) + "/s" } ?? "–",
            Format.ratio(result.ratio),
            result.targets.map { verdict($0, result).text }.joined(separator: "; "),
        ]
    }

    /// "≥ 3.00 M/s: met (4.31 M/s)" — the target, whether it was met, the figure.
    static func verdict(_ target: Target, _ result: CaseResult) -> (met: Bool, text: String) {
        let (goal, met, figure): (String, Bool, String)
        switch target {
        case .recordsPerSecond(let least):
            let rate = result.workload.map { result.timed.rate(Double($0.records)) } ?? 0
            (goal, met, figure) = ("≥ \(Format.rate(least))", rate >= least, Format.rate(rate))
        case .peakRSS(let limit):
            (goal, met, figure) = (
                "RSS < \(Format.megabytes(Double(limit)))", result.timed.peakRSSBytes < limit,
                Format.megabytes(Double(result.timed.peakRSSBytes))
            )
        case .ratio(let most):
            (goal, met, figure) = ("≤ \(Format.ratio(most))", result.ratio <= most, Format.ratio(result.ratio))
        case .baselineThroughputShare(let least):
            let share = 1 / result.ratio
            (goal, met, figure) = ("≥ \(Format.percent(least)) of baseline's throughput", share >= least, Format.percent(share))
        case .wallTime(let limit):
            (goal, met, figure) = (
                "wall < \(Format.seconds(limit))", result.timed.wall.median < limit, Format.seconds(result.timed.wall.median)
            )
        case .outputSizeRatio(let most):
            let sizes = result.outputBytes ?? (0, 1)
            let ratio = Double(sizes.timed) / Double(max(1, sizes.baseline))
            (goal, met, figure) = (
                "output size ≤ \(Format.ratio(most)) of baseline's", ratio <= most,
                "\(Format.megabytes(Double(sizes.timed))) vs \(Format.megabytes(Double(sizes.baseline))), \(Format.ratio(ratio))"
            )
        }
        return (met, "\(goal): \(met ? "met" : "**missed**") (\(figure))")
    }

    /// How the run compares with the issues' targets: a count, and every miss by name.
    static func targetSummary(_ results: [CaseResult]) -> String {
        let checks = results.flatMap { result in result.targets.map { (case: result.name, verdict: verdict($0, result)) } }
        let missed = checks.filter { !$0.verdict.met }
        var text = "### Targets\n\n\(checks.count - missed.count) of \(checks.count) targets met."
        if !missed.isEmpty {
            text += " Missed:\n\n" + missed.map { "- \($0.case): \($0.verdict.text)" }.joined(separator: "\n")
        }
        return text
    }

    static func commands(_ results: [CaseResult]) -> String {
        results.map { result in
            "- \(result.name): `\(result.timedCommand)`\n  - baseline (\(result.baselineLabel)): `\(result.baselineCommand)`"
        }.joined(separator: "\n")
    }

    /// Replaces what lies between the markers in `path` with `generated`.
    static func rewriteGeneratedSection(of path: String, with generated: String) throws {
        guard let bytes = try FileSystem.readIfExists(path) else {
            throw SluiceError(.failure, .benchReport, "\(path) does not exist", remedy: "run from the repository's top directory")
        }
        let document = String(decoding: bytes, as: UTF8.self)
        guard let begin = document.firstRange(of: beginMarker), let end = document.firstRange(of: endMarker),
            begin.upperBound <= end.lowerBound
        else {
            throw SluiceError(
                .failure, .benchReport, "\(path) lacks the lines '\(beginMarker)' and '\(endMarker)'",
                remedy: "restore them around the generated figures")
        }
        let rewritten = document[..<begin.upperBound] + "\n\n" + generated + "\n\n" + document[end.lowerBound...]
        try FileSystem.writeAtomically(path, Array(rewritten.utf8))
    }
}
