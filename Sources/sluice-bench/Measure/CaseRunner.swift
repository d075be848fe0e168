import SluiceCore
import SluiceSystem

extension SluiceError.Reason {
    static let benchDefinition = SluiceError.Reason("bench-definition")
}

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
    /// The exact baseline command, nil when the baseline is another row.
    let baselineCommand: String?
    let baseline: Summary
    let baselineWorkload: Workload?
    let targets: [Target]

    /// Median wall time of the case over that of its baseline: 1.0 is as fast,
    /// 2.0 twice as long.
    var ratio: Double { timed.wall.median / baseline.wall.median }
}

/// Runs cases in order, alternating each case with its baseline so that both
/// see the same machine load, and keeps the results for later rows to refer to.
final class CaseRunner {
    let bench: Workbench
    let plan: RunPlan
    private(set) var results: [CaseResult] = []

    init(bench: Workbench, plan: RunPlan) {
        self.bench = bench
        self.plan = plan
    }

    func run(_ benchCase: BenchCase) throws -> CaseResult {
        let prepared = try benchCase.prepare(bench)
        let result: CaseResult
        switch prepared.baseline {
        case .command(let baseline):
            let (timed, base) = try alternate(prepared.timed, baseline)
            result = CaseResult(name: benchCase.name, workload: prepared.workload, timed: timed,
                                timedCommand: prepared.timed.command.display, baselineLabel: baseline.label,
                                baselineCommand: baseline.command.display, baseline: base,
                                baselineWorkload: prepared.workload, targets: benchCase.targets)
        case .row(let name):
            guard let earlier = results.first(where: { $0.name == name }) else {
                throw SluiceError(.failure, .benchDefinition, "case '\(benchCase.name)' compares with '\(name)', which has not run",
                                  remedy: "list the baseline case before it")
            }
            let timed = try repeatedly(prepared.timed)
            result = CaseResult(name: benchCase.name, workload: prepared.workload, timed: timed,
                                timedCommand: prepared.timed.command.display, baselineLabel: earlier.name,
                                baselineCommand: nil, baseline: earlier.timed, baselineWorkload: earlier.workload,
                                targets: benchCase.targets)
        }
        results.append(result)
        return result
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

    private func repeatedly(_ timed: Timed) throws -> Summary {
        var samples: [Sample] = []
        for round in 0..<(plan.warmups + plan.repetitions) {
            let sample = try once(timed)
            if round >= plan.warmups { samples.append(sample) }
        }
        return Summary(samples)
    }

    private func once(_ timed: Timed) throws -> Sample {
        try timed.beforeEach()
        let companionBefore = timed.companionCPUSeconds?() ?? 0
        var sample = try ChildProcess.measure(timed.command, errorLog: bench.errorLog)
        if let companion = timed.companionCPUSeconds { sample.cpuSeconds += companion() - companionBefore }
        return sample
    }
}
