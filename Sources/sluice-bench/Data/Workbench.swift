import SluiceCore
import SluiceSystem

/// A generated input file: one record per line.
struct Dataset: Sendable {
    let path: String
    let shape: RecordGenerator.Shape
    let records: Int
    let bytes: Int64
}

/// A topic as it lies on disk, for baselines that read the same bytes.
struct TopicOnDisk: Sendable {
    let name: String
    let records: Int
    let partitions: Int
    let logFiles: [String]
    let logBytes: Int64

    /// The partitions' directory names in the data directory, in partition order.
    var partitionDirectories: [String] { (0..<partitions).map { "\(name)-\($0)" } }
}

/// The scratch area of one run and the fixtures in it. Data sets and filled
/// topics are made once, on first use, and shared by every case and repetition;
/// the whole directory is removed when the run ends.
final class Workbench {
    let scratch: String
    let sluice: String
    let seed: UInt64
    var dataDirectory: String { scratch + "/data" }
    var errorLog: String { scratch + "/stderr" }

    private var datasets: [String: Dataset] = [:]
    private var topics: [String: TopicOnDisk] = [:]
    /// The topics this run created (the data directory starts empty).
    private var createdTopics: Set<String> = []

    init(scratch: String, sluice: String, seed: UInt64) throws {
        self.scratch = scratch
        self.sluice = sluice
        self.seed = seed
        try FileSystem.removeTree(scratch)
        try FileSystem.makeDirectories(dataDirectory)
    }

    func removeScratch() { try? FileSystem.removeTree(scratch) }

    func path(_ name: String) -> String { scratch + "/" + name }

    /// `sluice ARGUMENTS` on this run's data directory.
    func sluiceCommand(_ arguments: [String], standardInput: String? = nil, standardOutput: String = "/dev/null") -> Command {
        Command(
            [sluice] + arguments, standardInput: standardInput, standardOutput: standardOutput,
            environment: ["SLUICE_DATA_DIR": dataDirectory])
    }

    /// Runs a set-up step (not measured); throws with the command's own error line.
    func run(_ command: Command) throws {
        _ = try ChildProcess.measure(command, errorLog: errorLog)
    }

    // MARK: - Data sets

    /// The data set of `records` records of `shape`, generated on first use.
    func dataset(_ shape: RecordGenerator.Shape, records: Int) throws -> Dataset {
        let name = "\(shape.rawValue)-\(records).txt"
        if let made = datasets[name] { return made }
        let made = try write(shape, records: 0..<records, to: path(name))
        datasets[name] = made
        return made
    }

    private func write(_ shape: RecordGenerator.Shape, records: Range<Int>, to path: String) throws -> Dataset {
        let bytes = try DatasetWriter.write(RecordGenerator(shape: shape, seed: seed), records: records, to: path)
        return Dataset(path: path, shape: shape, records: records.count, bytes: bytes)
    }

    // MARK: - Topics

    /// Deletes `name` if it exists and creates it with `partitions` partitions.
    func recreateTopic(_ name: String, partitions: Int = 1, config: [String] = []) throws {
        if createdTopics.contains(name) { try run(sluiceCommand(["topic", "delete", name, "--yes"])) }
        try run(sluiceCommand(["topic", "create", name, "--partitions", String(partitions)] + config.flatMap { ["--config", $0] }))
        createdTopics.insert(name)
    }

    /// Deletes `name` if a run of a case created it (the import case's target).
    func deleteTopicIfPresent(_ name: String) throws {
        if try FileSystem.exists(dataDirectory + "/.sluice/topics/\(name).topic") {
            try run(sluiceCommand(["topic", "delete", name, "--yes"]))
        }
    }

    /// A topic holding `dataset` (produced once, with `produceOptions`), for read cases.
    func filledTopic(_ name: String, from dataset: Dataset, partitions: Int = 1, produceOptions: [String] = []) throws -> TopicOnDisk {
        if let made = topics[name] { return made }
        try recreateTopic(name, partitions: partitions)
        try run(produce(name, dataset, options: produceOptions))
        let made = try onDisk(name, records: dataset.records, partitions: partitions)
        topics[name] = made
        return made
    }

    /// `sluice produce` of a data set into `topic`.
    func produce(_ topic: String, _ dataset: Dataset, options: [String] = []) -> Command {
        sluiceCommand(["produce", topic, "--file", dataset.path] + dataset.shape.produceOptions + options)
    }

    /// A one-partition topic of the first `records` keyed records, produced once,
    /// a chunk of generated input at a time (each chunk removed once produced).
    func keyedTopic(records: Int, chunk: Int = 1_000_000) throws -> TopicOnDisk {
        let name = "keyed-\(records)"
        if let made = topics[name] { return made }
        try recreateTopic(name)
        for start in stride(from: 0, to: records, by: chunk) {
            let input = try write(.keyedJSON, records: start..<min(records, start + chunk), to: path("\(name)-chunk.txt"))
            try run(produce(name, input))
            try FileSystem.removeFile(input.path)
        }
        let made = try onDisk(name, records: records, partitions: 1)
        topics[name] = made
        return made
    }

    private func onDisk(_ name: String, records: Int, partitions: Int) throws -> TopicOnDisk {
        let logs = try (0..<partitions).flatMap { index in
            let directory = dataDirectory + "/\(name)-\(index)"
            return try FileSystem.list(directory).filter { $0.hasSuffix(".log") }.sorted().map { directory + "/" + $0 }
        }
        let bytes = try logs.reduce(Int64(0)) { $0 + (try FileSystem.fileSize($1) ?? 0) }
        return TopicOnDisk(name: name, records: records, partitions: partitions, logFiles: logs, logBytes: bytes)
    }
}

/// Writes generated lines to a file in large sequential writes.
enum DatasetWriter {
    static func write(_ generator: RecordGenerator, records: Range<Int>, to path: String) throws -> Int64 {
        let file = try File.openOrCreate(path, access: .writeOnly, truncate: true)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 21)
        var written: Int64 = 0
        func flush() throws {
            try buffer.withUnsafeBytes { try file.write($0) }
            written += Int64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        }
        for index in records {
            generator.appendLine(index, to: &buffer)
            if buffer.count >= 1 << 20 {
                try flush()
                if Interruption.requested {
                    throw SluiceError(.failure, .benchInterrupted, "interrupted by \(Interruption.signalName) while writing \(path)")
                }
            }
        }
        try flush()
        try file.close()
        return written
    }
}
