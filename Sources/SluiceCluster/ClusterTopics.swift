import KafkaClient
import KafkaProtocol
import SluiceCore
import SluiceStore

/// Topic administration on a cluster: Metadata, CreateTopics, DeleteTopics,
/// CreatePartitions, DescribeConfigs and IncrementalAlterConfigs.
extension ClusterStore: TopicStore {
    public func topicNames(includeInternal: Bool) throws -> [String] {
        try client.metadata(topics: nil).topics.compactMap { topic in
            guard KafkaErrorCode(topic.errorCode) == .none, let name = topic.name else { return nil }
            return includeInternal || !(topic.isInternal || name.hasPrefix("__")) ? name : nil
        }.sorted()
    }

    public func layouts(of names: [String]) throws -> [String: TopicLayout] {
        try metadata(names, refresh: true).mapValues { topic in
            let partitions = topic.partitions.map { Int($0.partitionIndex) }.sorted()
            return TopicLayout(name: topic.name ?? "", partitions: partitions, partitionCount: partitions.count)
        }
    }

    public func unknownTopic(_ name: String) -> SluiceError {
        let close = Suggestions.didYouMean(name, in: (try? topicNames(includeInternal: true)) ?? [])
        return .failure(
            .unknownTopic, "topic '\(name.printable)' does not exist in \(location)\(close)",
            remedy: "list topics with 'sluice topic list' and the same cluster options")
    }

    public func describeTopics(_ names: [String]) throws -> [TopicDescription] {
        let known = try metadata(names, refresh: true)
        for name in names where known[name] == nil { throw unknownTopic(name) }
        let configs = try describeConfigs(names)
        let keys = names.flatMap { name in known[name]!.partitions.map { TopicPartition(name, Int($0.partitionIndex)) } }
        let ranges = try offsetRanges(keys)
        var probes: [TopicPartition: Set<Int64>] = [:]
        for (key, range) in ranges where range.end > range.start { probes[key] = [range.start, range.end - 1] }
        let times = try timestamps(at: probes)
        let sizes = try replicaSizes(keys)
        return names.map { name in
            let topic = known[name]!
            let partitions = topic.partitions.map(\.partitionIndex).sorted().map { index in
                let key = TopicPartition(name, Int(index))
                let range = ranges[key] ?? OffsetRange(start: 0, end: 0)
                return PartitionSummary(
                    partition: Int(index), logStartOffset: range.start, endOffset: range.end, bytes: sizes?[key], segments: nil,
                    oldestTimestamp: times[key]?[range.start], newestTimestamp: times[key]?[range.end - 1], tailProblem: nil)
            }
            return TopicDescription(
                name: name, id: topic.topicId == .zero ? "" : topic.topicId.description, partitionCount: partitions.count,
                config: configs[name] ?? [], partitions: partitions)
        }
    }

    /// The size of each partition's leader replica from DescribeLogDirs, one
    /// request per leader; nil when a leader does not advertise the API.
    func replicaSizes(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64]? {
        let (byLeader, _) = try route(partitions, refresh: false)
        var sizes: [TopicPartition: Int64] = [:]
        let pending = try byLeader.map { leader, keys -> PendingResponse<DescribeLogDirsRequest>? in
            let connection = try client.connection(toBroker: leader)
            guard connection.versions.advertises(.describeLogDirs) else { return nil }
            var request = DescribeLogDirsRequest()
            request.topics = Dictionary(grouping: keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, keys in
                var entry = DescribeLogDirsRequest.DescribableLogDirTopic()
                entry.topic = topic
                entry.partitions = keys.map { Int32($0.partition) }
                return entry
            }
            return try connection.submit(request)
        }
        for submitted in pending {
            guard let submitted else { return nil }
            for directory in try submitted.wait().results where KafkaErrorCode(directory.errorCode) == .none {
                for topic in directory.topics {
                    for partition in topic.partitions where !partition.isFutureKey {
                        sizes[TopicPartition(topic.name, Int(partition.partitionIndex)), default: 0] += partition.partitionSize
                    }
                }
            }
        }
        return sizes
    }

    /// With `validateOnly`, checks only what sluice can check itself, sending
    /// nothing: the real CreateTopics validates and creates atomically, and
    /// Tansu 0.6.0 creates the topic even when asked to validate only.
    @discardableResult
    public func createTopic(_ name: String, partitions: Int, config: [String], validateOnly: Bool) throws -> TopicLayout {
        guard !validateOnly else {
            guard partitions > 0 else {
                throw SluiceError.usage(.invalidArgument, "invalid partition count \(partitions)", remedy: "give at least 1")
            }
            _ = try TopicLayout.configAssignments(config)
            return TopicLayout(name: name, partitions: Array(0..<partitions), partitionCount: partitions)
        }
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name
        topic.numPartitions = Int32(clamping: partitions)
        topic.replicationFactor = -1
        topic.configs = try TopicLayout.configAssignments(config).map { key, value in
            var entry = CreateTopicsRequest.CreatableTopicConfig()
            entry.name = key
            entry.value = value
            return entry
        }
        var request = CreateTopicsRequest()
        request.topics = [topic]
        request.timeoutMs = Int32(clamping: client.configuration.requestTimeoutMillis)
        // The broker's default replication factor (-1) needs CreateTopics v4 (Kafka 2.4).
        if let version = try client.anyConnection().versions.version(for: CreateTopicsRequest.self), version < 4 {
            throw SluiceError.failure(
                .unsupportedByBroker, "cannot create topic '\(name.printable)': the broker speaks CreateTopics up to v\(version)",
                remedy: "sluice creates topics with the broker's default replication factor, which needs Kafka 2.4 or later")
        }
        _ = try client.callController(request) { response in
            guard let result = response.topics.first(where: { $0.name == name }) else {
                throw SluiceError.failure(.protocolViolation, "the broker's CreateTopics answer does not mention topic '\(name.printable)'")
            }
            switch KafkaErrorCode(result.errorCode) {
            case .none: break
            case .topicAlreadyExists:
                throw SluiceError.failure(
                    .topicExists, "topic '\(name.printable)' already exists in \(location)", remedy: "pick another name, or delete it first"
                )
            case let code: throw SluiceError.broker(code, "create topic '\(name.printable)'", message: result.errorMessage)
            }
        }
        try awaitLeaders(name, partitions: partitions)
        return TopicLayout(name: name, partitions: Array(0..<partitions), partitionCount: partitions)
    }

    /// Waits until every partition of a new or grown topic has a leader, so
    /// the next command (a produce right after `topic create`) finds them:
    /// brokers learn of a topic some time after the controller made it.
    private func awaitLeaders(_ name: String, partitions: Int) throws {
        try client.retrying {
            forget(name)
            let listed = try metadata([name])[name]?.partitions ?? []
            guard listed.count >= partitions, listed.allSatisfy({ $0.leaderId >= 0 }) else {
                forget(name)
                throw SluiceError.broker(.leaderNotAvailable, "topic '\(name.printable)'")
            }
        }
    }

    public func deleteTopic(_ name: String) throws {
        var request = DeleteTopicsRequest()
        var topic = DeleteTopicsRequest.DeleteTopicState()
        topic.name = name
        request.topics = [topic]
        request.topicNames = [name]
        request.timeoutMs = Int32(clamping: client.configuration.requestTimeoutMillis)
        defer { forget(name) }
        _ = try client.callController(request) { response in
            let result = response.responses.first { $0.name == name }
            switch KafkaErrorCode(result?.errorCode ?? 0) {
            case .none: return
            case .unknownTopicOrPartition: throw unknownTopic(name)
            case let code: throw SluiceError.broker(code, "delete topic '\(name.printable)'", message: result?.errorMessage)
            }
        }
    }

    public func addPartitions(_ name: String, to count: Int) throws -> (old: Int, new: Int) {
        let old = try layout(of: name).partitionCount
        try TopicLayout.requireGrowth(of: name, from: old, to: count)
        var topic = CreatePartitionsRequest.CreatePartitionsTopic()
        topic.name = name
        topic.count = Int32(clamping: count)
        topic.assignments = nil
        var request = CreatePartitionsRequest()
        request.topics = [topic]
        request.timeoutMs = Int32(clamping: client.configuration.requestTimeoutMillis)
        _ = try client.callController(request) { response in
            let result = response.results.first { $0.name == name }
            let code = KafkaErrorCode(result?.errorCode ?? 0)
            guard code == .none else {
                throw SluiceError.broker(code, "add partitions to topic '\(name.printable)'", message: result?.errorMessage)
            }
        }
        try awaitLeaders(name, partitions: count)
        return (old, count)
    }

    public func alterConfig(_ name: String, assignments: [String]) throws -> [(String, String)] {
        var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = Self.topicResource
        resource.resourceName = name
        resource.configs = try TopicLayout.configAssignments(assignments).map { key, value in
            var entry = IncrementalAlterConfigsRequest.AlterableConfig()
            entry.name = key
            entry.configOperation = 0  // SET
            entry.value = value
            return entry
        }
        var request = IncrementalAlterConfigsRequest()
        request.resources = [resource]
        let result = try client.anyConnection().call(request).responses.first { $0.resourceName == name }
        let code = KafkaErrorCode(result?.errorCode ?? 0)
        guard code == .none else {
            throw SluiceError.broker(code, "alter config of topic '\(name.printable)'", message: result?.errorMessage)
        }
        return try describeConfigs([name])[name] ?? []
    }

    /// DescribeConfigs' resource type for topics.
    static let topicResource: Int8 = 2

    /// The config keys `topic describe` always shows where the broker reports
    /// them; every other key is shown when it is set on the topic.
    static let shownKeys: Set<String> = [
        "cleanup.policy", "compression.type", "max.message.bytes", "message.timestamp.type", "min.insync.replicas", "retention.bytes",
        "retention.ms", "segment.bytes",
    ]

    /// Each topic's config entries set on it, plus `shownKeys`, sorted by key.
    /// Sensitive values stay hidden, as the broker sends none.
    func describeConfigs(_ names: [String]) throws -> [String: [(String, String)]] {
        var request = DescribeConfigsRequest()
        request.resources = names.map { name in
            var resource = DescribeConfigsRequest.DescribeConfigsResource()
            resource.resourceType = Self.topicResource
            resource.resourceName = name
            resource.configurationKeys = nil
            return resource
        }
        var configs: [String: [(String, String)]] = [:]
        for result in try client.retrying({ try client.anyConnection().call(request) }).results {
            let code = KafkaErrorCode(result.errorCode)
            guard code == .none else {
                throw SluiceError.broker(code, "describe config of topic '\(result.resourceName.printable)'", message: result.errorMessage)
            }
            configs[result.resourceName] = result.configs.filter { entry in
                entry.value != nil && (Self.shownKeys.contains(entry.name) || entry.configSource == Self.topicConfigSource)
            }.map { ($0.name, $0.value!) }.sorted { $0.0 < $1.0 }
        }
        return configs
    }

    /// DescribeConfigs' source for a value set on the topic itself.
    static let topicConfigSource: Int8 = 1
}
