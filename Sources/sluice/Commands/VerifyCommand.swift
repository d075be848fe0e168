import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every batch, record and index of topics, and optionally repair them.",
        discussion: """
            Checks each batch's framing and CRC-32C, decodes every record, checks offset continuity, and \
            checks the .index and .timeindex of every segment against its log. Lists every problem with its \
            file and byte position and exits 2 if there is any. --repair truncates each damaged partition at \
            its first damage (the cut bytes and later segments are kept under .sluice/repairs/) and rebuilds \
            indexes; it exits 0 when everything was repaired.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Topics to check (default: all, including internal ones).", completion: Completions.topics)
    var topics: [String] = []

    @Flag(help: "Truncate at the first damage and rebuild indexes.")
    var repair = false

    @Flag(help: "Print JSON (schema: {version, partitions: [{partition, batches, records, bytes, problems}], problems, repairs}).")
    var json = false

    func run() throws {
        let directory = try repair ? common.open(writing: "repair") : common.open()
        let verification = try Verification(directory: directory, topics: topics, repair: repair)
        let report: VerificationReport
        do {
            report = try verification.run(shouldStop: { Interruption.requested })
        } catch let interrupted as Verification.Interrupted {
            let partial = interrupted.partial, problems = partial.problems.count
            try printProblemsAndRepairs(partial)
            throw SluiceError.failure(
                .interrupted,
                "verify stopped by \(Interruption.signalName) after checking "
                    + "\(partial.checks.count) of \(partial.partitionCount) partitions "
                    + "(\(problems) problem\(problems == 1 ? "" : "s") so far, listed above)",
                remedy: repair ? "every repair made is complete; run it again to check the rest" : "run it again to check everything")
        }
        let problems = report.problems
        if json {
            try Output.printJSON(report.json)
        } else {
            try printProblemsAndRepairs(report)
            let found = problems.isEmpty ? "no problems" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"
            StandardErrorLog.notice(
                "checked \(report.topicCount) topic\(report.topicCount == 1 ? "" : "s"), \(report.checks.count) partitions, "
                    + "\(report.batches) batches, \(report.records) records: \(found)")
        }
        if !problems.isEmpty && !repair {
            throw SluiceError.checkFailed(
                .corruptLog, "verification found \(problems.count) problem\(problems.count == 1 ? "" : "s")",
                remedy: "run 'sluice verify --repair' to truncate at the damage and rebuild indexes")
        }
        if repair && !problems.isEmpty {
            let after = try verification.remainingProblems()
            if !after.isEmpty {
                throw SluiceError.checkFailed(
                    .corruptLog, "\(after.count) problem\(after.count == 1 ? "" : "s") remain after repair",
                    remedy: "run 'sluice verify' for details")
            }
        }
    }

    private func printProblemsAndRepairs(_ report: VerificationReport) throws {
        for problem in report.problems { try Output.print(problem.description) }
        for action in report.repairs { try Output.print("repaired: \(action)") }
    }
}
