import KafkaFormat
import SluiceCore
import SluiceStore
import SluiceSystem

/// A data directory: the whole state of a sluice store (docs/ARCHITECTURE.md §3), or a
/// Kafka broker's log directory (or a copy of one) opened read-only.
///
///     <data-dir>/
///       <topic>-<N>/                 partitions, Kafka's segment format
///       log-start-offset-checkpoint  Kafka's format: log starts moved by delete-records
///       .sluice/format               marks a sluice directory (format version)
///       .sluice/topics/<name>.topic  topic metadata (checksummed JSON)
///       .sluice/admin.lock           serialises topic creation, alteration, deletion
///       .sluice/staging/             imports being built (`StagingArea`)
public final class DataDirectory: @unchecked Sendable {
    public enum Kind: String, Sendable {
        /// A sluice store: topics come from `.sluice/topics`.
        case sluice
        /// A Kafka broker's log directory (meta.properties or checkpoint files): read-only.
        case kafkaBroker = "kafka-broker"
        /// Partition directories and nothing else, e.g. copied off a broker: read-only.
        case partitionsOnly = "partitions-only"
        /// Missing or empty: becomes a sluice store on the first write.
        case empty
    }

    public static let formatVersion = 1
    public let path: String
    public private(set) var kind: Kind
    private var foreignPartitions: [String: [Int]] = [:]
    /// Log starts from `log-start-offset-checkpoint`, by partition directory name, as of opening.
    var recordedLogStarts: [TopicPartition: Int64] = [:]

    public var metaPath: String { path + "/.sluice" }
    public var topicsPath: String { metaPath + "/topics" }
    /// Where `verify --repair` keeps what it cuts off, a directory per repaired partition.
    public var repairsPath: String { metaPath + "/repairs" }
    public var isWritable: Bool { kind == .sluice || kind == .empty }
    public var logStartCheckpointPath: String { path + "/log-start-offset-checkpoint" }

    /// Opens (never creates) a data directory and detects its kind.
    /// A staging area left by a killed import is rolled forward or back here,
    /// so every command sees the data directory as all or nothing.
    /// The path may be or pass through a symbolic link (one a user made): it is
    /// resolved here, and links inside the data directory are refused as ever.
    public static func open(_ path: String) throws -> DataDirectory {
        let directory = DataDirectory(path: FileSystem.followingUserLinks(path))
        try directory.detect()
        if try directory.hasStagingAreas { try directory.withAdminLock {} }
        return directory
    }

    private init(path: String) {
        var normalized = path
        while normalized.count > 1 && normalized.hasSuffix("/") { normalized.removeLast() }
        self.path = normalized
        self.kind = .empty
    }

    private func detect() throws {
        guard let found = try FileSystem.kind(of: path) else { kind = .empty; return }
        guard found == .directory else {
            throw SluiceError.failure(.io, "data directory \(path) is not a directory", remedy: "pass --data-dir a directory")
        }
        if try FileSystem.exists(metaPath + "/format") {
            kind = .sluice
            try refuseLinkedMetadata()
            try checkFormat()
        } else {
            try scanForeignPartitions()
            let brokerMarkers = [
                "meta.properties", "recovery-point-offset-checkpoint", "log-start-offset-checkpoint",
                "replication-offset-checkpoint", ".kafka_cleanshutdown",
            ]
            if try brokerMarkers.contains(where: { try FileSystem.exists(path + "/" + $0) }) {
                kind = .kafkaBroker
            } else {
                kind = foreignPartitions.isEmpty ? .empty : .partitionsOnly
            }
        }
        recordedLogStarts = try readLogStartCheckpoint()
    }

    /// The directories sluice writes its own files into, which must be plain
    /// directories: every file in them is opened without following a link,
    /// but a link planted in place of a directory would take all of them
    /// outside the data directory.
    private var metadataDirectories: [String] {
        [metaPath, topicsPath, stagingPath, repairsPath, metaPath + "/groups", metaPath + "/groups/state", metaPath + "/groups/live"]
    }

    private func refuseLinkedMetadata() throws {
        for directory in metadataDirectories {
            guard let found = try FileSystem.kind(of: directory), found != .directory else { continue }
            throw SluiceError.failure(
                .io, "\(directory) is not a plain directory (a symbolic link?); sluice does not write through links",
                remedy: "replace it with a directory (or move the data directory's contents where the link points)")
        }
    }

    private func checkFormat() throws {
        let text = String(decoding: try FileSystem.readIfExists(metaPath + "/format") ?? [], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("version ") }),
            let version = Int(line.dropFirst(8))
        else {
            throw SluiceError.failure(
                .corruptMetadata, "\(metaPath)/format is damaged",
                remedy: "it should read 'sluice data directory' and 'version \(Self.formatVersion)'")
        }
        guard version <= Self.formatVersion else {
            throw SluiceError.failure(
                .unsupportedVersion, "data directory \(path) has format version \(version); this sluice reads up to \(Self.formatVersion)",
                remedy: "use a newer sluice")
        }
    }

    /// Partition directories by topic, for directories without sluice metadata.
    private func scanForeignPartitions() throws {
        for name in try FileSystem.list(path) {
            guard let (topic, partition) = TopicName.parsePartitionDirectory(name),
                try FileSystem.kind(of: path + "/" + name) == .directory
            else { continue }
            foreignPartitions[topic, default: []].append(partition)
        }
        for key in foreignPartitions.keys { foreignPartitions[key]!.sort() }
    }

    /// Refuses writes to directories sluice does not own.
    public func requireWritable(_ action: String) throws {
        guard !isWritable else { return }
        let what = kind == .kafkaBroker ? "a Kafka broker's log directory" : "a directory of partitions without sluice metadata"
        throw SluiceError.failure(
            .readOnly, "cannot \(action): \(path) is \(what), which sluice opens read-only",
            remedy: "export from it ('sluice export --data-dir \(path) TOPIC -o FILE') and import into a sluice data directory")
    }

    /// Makes an empty or missing directory a sluice store.
    public func initializeIfNeeded() throws {
        try requireWritable("initialize a data directory")
        guard kind == .empty else { return }
        try FileSystem.makeDirectories(path)
        try FileSystem.makeDirectory(metaPath)
        try FileSystem.makeDirectory(topicsPath)
        try FileSystem.writeAtomically(metaPath + "/format", Array("sluice data directory\nversion \(Self.formatVersion)\n".utf8))
        try FileSystem.syncDirectory(path)
        kind = .sluice
    }

    // MARK: topics

    /// Topic names, sorted; internal ones (`__...`) only when asked.
    public func topicNames(includeInternal: Bool = false) throws -> [String] {
        var names: [String]
        switch kind {
        case .sluice:
            // The metadata file is a topic's commit point, internal topics' too:
            // partition directories without one are leftovers of a failed creation.
            names = try FileSystem.list(topicsPath).compactMap { $0.hasSuffix(".topic") ? String($0.dropLast(6)) : nil }
        case .kafkaBroker, .partitionsOnly:
            names = Array(foreignPartitions.keys)
        case .empty:
            names = []
        }
        return Set(names).filter { includeInternal || !$0.hasPrefix(TopicName.internalPrefix) }.sorted()
    }

    /// The topic `name`, nil when there is none. Any other failure (an I/O
    /// error, damaged metadata) is thrown, never read as "no such topic".
    public func existingTopic(_ name: String) throws -> Topic? {
        do {
            return try topic(name)
        } catch let error as SluiceError where error.reason == .unknownTopic {
            return nil
        }
    }

    /// Opens a topic; unknown topics fail with a message that says how to find one.
    public func topic(_ name: String) throws -> Topic {
        try TopicName.validate(name, allowInternal: true)
        switch kind {
        case .sluice:
            guard let bytes = try FileSystem.readIfExists(metadataPath(name)) else { throw unknownTopic(name) }
            let metadata = try TopicMetadata.decode(bytes, what: "metadata of topic '\(name)' (\(metadataPath(name)))")
            return Topic(directory: self, metadata: metadata, partitionIndices: Array(0..<metadata.partitions))
        case .kafkaBroker, .partitionsOnly:
            guard let indices = foreignPartitions[name] else { throw unknownTopic(name) }
            let metadata = TopicMetadata(name: name, id: "", partitions: (indices.last ?? -1) + 1, config: TopicConfig(), createdAt: 0)
            return Topic(directory: self, metadata: metadata, partitionIndices: indices)
        case .empty:
            throw unknownTopic(name)
        }
    }

    public func unknownTopic(_ name: String) -> SluiceError {
        let close = Suggestions.didYouMean(name, in: (try? topicNames()) ?? [])
        return .failure(
            .unknownTopic, "topic '\(name.printable)' does not exist in \(path)\(close)", remedy: "list topics with 'sluice topic list'")
    }

    func metadataPath(_ topic: String) -> String { topicsPath + "/" + topic + ".topic" }

    public func partitionDirectory(_ topic: String, _ partition: Int) -> String { "\(path)/\(topic)-\(partition)" }

    /// A log start recorded for a partition (delete-records or Kafka's checkpoint).
    func recordedLogStart(_ topic: String, _ partition: Int) -> Int64? { recordedLogStarts[TopicPartition(topic, partition)] }
}

/// A topic and its partitions.
public final class Topic: @unchecked Sendable {
    public let directory: DataDirectory
    public let metadata: TopicMetadata
    /// 0..<partitions for sluice topics; whichever partitions a broker held otherwise.
    public let partitionIndices: [Int]

    init(directory: DataDirectory, metadata: TopicMetadata, partitionIndices: [Int]) {
        self.directory = directory
        self.metadata = metadata
        self.partitionIndices = partitionIndices
    }

    public var name: String { metadata.name }
    public var config: TopicConfig { metadata.config }
    public var partitionCount: Int { metadata.partitions }

    public var layout: TopicLayout { TopicLayout(name: name, partitions: partitionIndices, partitionCount: partitionCount) }

    public func partition(_ index: Int) throws -> Partition {
        try layout.require(index)
        return Partition(
            topic: name, index: index, directory: directory.partitionDirectory(name, index), config: config,
            isWritable: directory.isWritable, recordedLogStart: directory.recordedLogStart(name, index))
    }

    public func partitions() throws -> [Partition] { try partitionIndices.map(partition) }
}

/// What `.sluice/topics/<name>.topic` holds.
public struct TopicMetadata: Equatable, Sendable {
    public static let version = 1
    public var name: String
    /// A Kafka-style topic id (16 random bytes, base64url), also written to each
    /// partition's `partition.metadata` as a broker would.
    public var id: String
    public var partitions: Int
    public var config: TopicConfig
    public var createdAt: Int64

    public init(name: String, id: String, partitions: Int, config: TopicConfig, createdAt: Int64) {
        self.name = name
        self.id = id
        self.partitions = partitions
        self.config = config
        self.createdAt = createdAt
    }

    public func encode() -> [UInt8] {
        ChecksummedDocument.encode(
            kind: "topic", version: Self.version,
            body: [
                "name": .string(name),
                "id": .string(id),
                "partitions": JSONValue(partitions),
                "created": .int(createdAt),
                "config": .object(config.entries.map { ($0.0, .string($0.1)) }),
            ])
    }

    public static func decode(_ bytes: [UInt8], what: String) throws -> TopicMetadata {
        let (_, body) = try ChecksummedDocument.decode(bytes, kind: "topic", maxVersion: version, what: what)
        guard let name = body["name"]?.stringValue, let partitions = body["partitions"]?.intValue, partitions >= 1,
            let created = body["created"]?.int64Value, let entries = body["config"]?.objectValue
        else {
            throw ChecksummedDocument.corrupt(what, "required fields are missing")
        }
        var config = TopicConfig()
        for (key, value) in entries {
            guard let text = value.stringValue else { throw ChecksummedDocument.corrupt(what, "config '\(key)' is not a string") }
            try config.set(key, text)
        }
        return TopicMetadata(name: name, id: body["id"]?.stringValue ?? "", partitions: partitions, config: config, createdAt: created)
    }

    static func newID() -> String {
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        return String(Base64.encode(bytes).map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }.prefix(22))
    }
}
