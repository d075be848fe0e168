import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceSystem

/// What `verify` found: the check of every partition it got to and a line per repair action.
public struct VerificationReport: Sendable {
    public let topicCount: Int
    /// How many partitions were to be checked (`checks` has fewer when interrupted).
    public let partitionCount: Int
    public internal(set) var checks: [PartitionCheck] = []
    public internal(set) var repairs: [String] = []

    public var problems: [VerifyProblem] { checks.flatMap(\.problems) }
    public var batches: Int { checks.reduce(0) { $0 + $1.batches } }
    public var records: Int64 { checks.reduce(0) { $0 + $1.records } }

    /// `verify --json`, schema version 1: {version, partitions: [{partition, batches, records, bytes, problems}], problems, repairs}.
    public var json: JSONValue {
        [
            "version": 1,
            "partitions": .array(
                checks.map { check in
                    [
                        "partition": .string(check.partition.name), "batches": JSONValue(check.batches), "records": .int(check.records),
                        "bytes": .int(check.bytes), "problems": .array(check.problems.map(\.json)),
                    ]
                }),
            "problems": JSONValue(problems.count),
            "repairs": .array(repairs.map { .string($0) }),
        ]
    }
}

/// `sluice verify`: checks every partition of the chosen topics (`PartitionVerifier`) and, with `repair`, repairs
/// each damaged one as soon as it is found, keeping what the repair cuts off under the data directory's `repairsPath`.
public struct Verification {
    /// Thrown when `shouldStop` ended the run: every repair in `partial` is complete.
    public struct Interrupted: Error {
        public let partial: VerificationReport
    }

    public let directory: DataDirectory
    public let topicNames: [String]
    public let repair: Bool
    private let partitions: [Partition]

    /// Resolves the topics (none: every topic, internal ones included) before anything is checked.
    public init(directory: DataDirectory, topics: [String], repair: Bool) throws {
        self.directory = directory
        self.topicNames = topics.isEmpty ? try directory.topicNames(includeInternal: true) : topics
        self.repair = repair
        self.partitions = try topicNames.flatMap { try directory.topic($0).partitions() }
    }

    /// Checks (and repairs) partition by partition; `shouldStop` is polled between segments.
    public func run(shouldStop: () -> Bool = { Interruption.requested }) throws -> VerificationReport {
        var report = VerificationReport(topicCount: topicNames.count, partitionCount: partitions.count)
        // Loaded at the first repair only: a clean directory's verify does not read the offsets log.
        var committed: [TopicPartition: Int64]?
        do {
            for partition in partitions {
                let check = try PartitionVerifier.check(partition, strict: directory.kind == .sluice, shouldStop: shouldStop)
                report.checks.append(check)
                guard repair && !check.isClean else { continue }
                let side = "\(directory.repairsPath)/\(partition.name.prefix(200))-\(WallClock.nowMillis())"
                if committed == nil { committed = highestCommittedOffsets() }
                report.repairs += try PartitionVerifier.repair(
                    check, sideDirectory: side,
                    committedEnd: committed?[TopicPartition(partition.topic, partition.index)] ?? 0)
            }
        } catch let error as SluiceError where error.reason == .interrupted {
            throw Interrupted(partial: report)
        }
        return report
    }

    /// After a repair: the problems the topics still have, checked as sluice's own (strictly).
    public func remainingProblems() throws -> [VerifyProblem] {
        try topicNames.flatMap { try directory.topic($0).partitions() }.flatMap { try PartitionVerifier.check($0, strict: true).problems }
    }

    /// What groups committed, which a repair keeps from being reused; the
    /// offsets log may itself be what is damaged, and then the log alone says.
    private func highestCommittedOffsets() -> [TopicPartition: Int64] {
        do {
            return try OffsetsStore(directory: directory).highestCommittedOffsets()
        } catch {
            Diagnostics.warn("cannot read the groups' committed offsets (\(error)); repairs reserve the offsets the logs show were used")
            return [:]
        }
    }
}
