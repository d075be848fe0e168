import SluiceSystem

/// How many times each command runs: unrecorded warm-ups (page cache, lazy
/// binding), then the recorded repetitions.
struct RunPlan: Sendable {
    var warmups: Int
    var repetitions: Int
}

/// One case's measurements beside its baseline's.
struct CaseResult {
    let name: String
    let workload: Workload?
    let timed: Summary
    let timedCommand: String
    let baselineLabel: String
    let baselineCommand: String
    let baseline: Summary
    let targets: [Target]
    /// Sizes of the files the case and its baseline wrote, when they write one.
    var outputBytes: (timed: Int64, baseline: Int64)? = nil

    /// Median wall time of the case over that of its baseline: 1.0 is as fast,
    /// 2.0 twice as long.
    var ratio: Double { timed.wall.median / baseline.wall.median }
}

/// Runs cases, alternating each with its baseline so that both see the same machine load.
final class CaseRunner {
    let bench: Workbench
    let plan: RunPlan

    init(bench: Workbench, plan: RunPlan) {
        self.bench = bench
        self.plan = plan
    }

    func run(_ benchCase: BenchCase) throws -> CaseResult {
        let prepared = try benchCase.prepare(bench)
        let (timed, baseline) = try alternate(prepared.timed, prepared.baseline)
        return CaseResult(
            name: benchCase.name, workload: prepared.workload, timed: timed,
            timedCommand: prepared.timed.command.display, baselineLabel: prepared.baseline.label,
            baselineCommand: prepared.baseline.command.display, baseline: baseline, targets: benchCase.targets,
            outputBytes: try prepared.outputs.map { (try FileSystem.fileSize($0.timed) ?? 0, try FileSystem.fileSize($0.baseline) ?? 0) })
    }

    /// Warm-ups then repetitions of both commands, swapping which goes first
    /// each round so a slow drift of the machine does not favour either.
    private func alternate(_ first: Timed, _ second: Timed) throws -> (Summary, Summary) {
        var firstSamples: [Sample] = []
        var secondSamples: [Sample] = []
        for round in 0..<(plan.warmups + plan.repetitions) {
            let recorded = round >= plan.warmups
            let order = round % 2 == 0 ? [true, false] : [false, true]
            for isFirst in order {
                let sample = try once(isFirst ? first : second)
                guard recorded else { continue }
                if isFirst { firstSamples.append(sample) } else { secondSamples.append(sample) }
            }
        }
        return (Summary(firstSamples), Summary(secondSamples))
    }

    private func once(_ timed: Timed) throws -> Sample {
        try timed.beforeEach()
        let companionBefore = timed.companionCPUSeconds?() ?? 0
        var sample = try ChildProcess.measure(timed.command, errorLog: bench.errorLog)
        if let companion = timed.companionCPUSeconds { sample.cpuSeconds += companion() - companionBefore }
        return sample
    }
}
