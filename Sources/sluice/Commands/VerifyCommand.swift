import ArgumentParser
import SluiceCore
import SluiceGroups
import SluiceStore
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

    /// What groups committed, which a repair keeps from being reused; the
    /// offsets log may itself be what is damaged, and then the log alone says.
    private func highestCommittedOffsets(_ directory: DataDirectory) -> [TopicPartition: Int64] {
        do {
            return try OffsetsStore(directory: directory).highestCommittedOffsets()
        } catch {
            Diagnostics.warn("cannot read the groups' committed offsets (\(error)); repairs reserve the offsets the logs show were used")
            return [:]
        }
    }

    func run() throws {
        let directory = try repair ? common.open(writing: "repair") : common.open()
        let names = topics.isEmpty ? try directory.topicNames(includeInternal: true) : topics
        var checks: [PartitionCheck] = []
        var repairs: [String] = []
        let partitions = try names.flatMap { try directory.topic($0).partitions() }
        var committed: [TopicPartition: Int64]?
        do {
            for partition in partitions {
                let check = try PartitionVerifier.check(partition, strict: directory.kind == .sluice, shouldStop: { Interruption.requested })
                checks.append(check)
                if repair && !check.isClean {
                    let side = "\(directory.metaPath)/repairs/\(partition.name.prefix(200))-\(WallClock.nowMillis())"
                    if committed == nil { committed = highestCommittedOffsets(directory) }
                    repairs += try PartitionVerifier.repair(check, sideDirectory: side,
                                                            committedEnd: committed?[TopicPartition(partition.topic, partition.index)] ?? 0)
                }
            }
        } catch let error as SluiceError where error.reason == .interrupted {
            let problems = checks.flatMap(\.problems)
            for problem in problems { try Output.print(problem.description) }
            for action in repairs { try Output.print("repaired: \(action)") }
            throw SluiceError.failure(.interrupted, "verify stopped by \(Interruption.signalName) after checking \(checks.count) of \(partitions.count) partitions (\(problems.count) problem\(problems.count == 1 ? "" : "s") so far, listed above)",
                                      remedy: repair ? "every repair made is complete; run it again to check the rest" : "run it again to check everything")
        }
        let problems = checks.flatMap(\.problems)
        if json {
            try Output.printJSON([
                "version": 1,
                "partitions": .array(checks.map { check in
                    ["partition": .string(check.partition.name), "batches": JSONValue(check.batches), "records": .int(check.records),
                     "bytes": .int(check.bytes), "problems": .array(check.problems.map(\.json))]
                }),
                "problems": JSONValue(problems.count),
                "repairs": .array(repairs.map { .string($0) }),
            ])
        } else {
            for problem in problems { try Output.print(problem.description) }
            for action in repairs { try Output.print("repaired: \(action)") }
            let batches = checks.reduce(0) { $0 + $1.batches }, records = checks.reduce(Int64(0)) { $0 + $1.records }
            StandardErrorLog.notice("checked \(names.count) topic\(names.count == 1 ? "" : "s"), \(checks.count) partitions, \(batches) batches, \(records) records: \(problems.isEmpty ? "no problems" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")")")
        }
        if !problems.isEmpty && !repair {
            throw SluiceError.checkFailed(.corruptLog, "verification found \(problems.count) problem\(problems.count == 1 ? "" : "s")",
                                          remedy: "run 'sluice verify --repair' to truncate at the damage and rebuild indexes")
        }
        if repair && !problems.isEmpty {
            let after = try names.flatMap { try directory.topic($0).partitions() }.flatMap { try PartitionVerifier.check($0, strict: true).problems }
            if !after.isEmpty {
                throw SluiceError.checkFailed(.corruptLog, "\(after.count) problem\(after.count == 1 ? "" : "s") remain after repair", remedy: "run 'sluice verify' for details")
            }
        }
    }
}
