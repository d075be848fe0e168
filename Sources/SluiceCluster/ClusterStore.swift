import KafkaClient
import KafkaProtocol
import SluiceCore
import SluiceStore

#if canImport(Glibc)
import Glibc
#endif

/// A live Kafka cluster as a store (docs/ARCHITECTURE.md, "The store seam"):
/// every call becomes requests over Kafka's protocol, one per broker that
/// leads the partitions asked about, all in flight at once.
public final class ClusterStore {
    public let client: KafkaClient
    /// How messages name the cluster: `--cluster`'s name, or the bootstrap servers.
    public let location: String
    /// Topic metadata as last read, refreshed when a leader moved.
    private var topics: [String: MetadataResponse.MetadataResponseTopic] = [:]

    public init(client: KafkaClient, name: String) {
        self.client = client
        location = name
    }

    /// What the cluster says of itself: id, controller, brokers and the API
    /// versions the broker answering speaks, for `cluster describe`.
    public func describeCluster() throws -> ClusterDescription {
        let metadata = try client.metadata(topics: [])
        let connection = try client.anyConnection()
        return ClusterDescription(
            clusterId: metadata.clusterId ?? "", controllerId: metadata.controllerId,
            brokers: metadata.brokers.map { .init(id: $0.nodeId, address: BrokerAddress(host: $0.host, port: Int($0.port)), rack: $0.rack) }
                .sorted { $0.id < $1.id },
            answeredBy: connection.address,
            apis: ApiKey.spoken.map { api in
                .init(name: api.key.name, advertised: connection.versions.range(of: api.key), sluice: api.versions)
            })
    }

    // MARK: - Metadata and routing

    /// Metadata of the named topics, from the cache unless `refresh`; a topic
    /// the cluster does not have is absent.
    func metadata(_ names: [String], refresh: Bool = false) throws -> [String: MetadataResponse.MetadataResponseTopic] {
        let wanted = Array(Set(names))
        let missing = refresh ? wanted : wanted.filter { topics[$0] == nil }
        if !missing.isEmpty {
            for topic in try client.metadata(topics: missing.sorted()).topics {
                guard let name = topic.name else { continue }
                switch KafkaErrorCode(topic.errorCode) {
                case .none: topics[name] = topic
                case .unknownTopicOrPartition: topics[name] = nil
                case let code: throw SluiceError.broker(code, "metadata of topic '\(name.printable)'")
                }
            }
        }
        return topics.filter { wanted.contains($0.key) }
    }

    /// The partitions grouped by the broker that leads them; a partition the
    /// metadata does not list (its topic is gone) is in neither result, one
    /// without a leader (an election under way) is in `leaderless`.
    func route(_ partitions: [TopicPartition], refresh: Bool) throws -> (byLeader: [Int32: [TopicPartition]], leaderless: [TopicPartition])
    {
        let known = try metadata(partitions.map(\.topic), refresh: refresh)
        var byLeader: [Int32: [TopicPartition]] = [:]
        var leaderless: [TopicPartition] = []
        for key in partitions {
            guard let partition = known[key.topic]?.partitions.first(where: { $0.partitionIndex == Int32(key.partition) }) else { continue }
            if partition.leaderId < 0 { leaderless.append(key) } else { byLeader[partition.leaderId, default: []].append(key) }
        }
        return (byLeader, leaderless)
    }

    /// One request per leader for `partitions` (split into requests of at most
    /// `perRequest` partitions), all in flight together, and each partition's
    /// answer. Partitions whose leader moved, is being elected or cannot be
    /// reached are asked again after fresh metadata and a backoff, for up to
    /// the client's API timeout (a failover takes seconds); any other error
    /// code fails the call. A partition the metadata stops listing is absent.
    func askLeaders<R: KafkaRequest, Answer>(
        _ partitions: [TopicPartition], _ what: String, perRequest: Int = .max, request: ([TopicPartition]) -> R,
        answers: (R.Response) throws -> [(TopicPartition, KafkaErrorCode, Answer)]
    ) throws -> [TopicPartition: Answer] {
        var found: [TopicPartition: Answer] = [:]
        var pending = Array(Set(partitions))
        var lastRetriable: SluiceError?
        let deadline = WallClock.monotonicNanos() + UInt64(client.configuration.apiTimeoutMillis) * 1_000_000
        var attempt = 0
        while true {
            do {
                let (byLeader, leaderless) = try route(pending, refresh: attempt > 0)
                pending = leaderless
                if !leaderless.isEmpty { lastRetriable = .broker(.leaderNotAvailable, "\(what) of partition \(leaderless[0])") }
                let sent = byLeader.flatMap { leader, keys in
                    stride(from: 0, to: keys.count, by: perRequest).map { start in
                        let chunk = Array(keys[start..<min(start + perRequest, keys.count)])
                        return (chunk, Result { try client.connection(toBroker: leader).submit(request(chunk)) })
                    }
                }
                for (keys, submitted) in sent {
                    let asked = Set(keys)
                    do {
                        for (key, code, answer) in try answers(submitted.get().wait()) where asked.contains(key) {
                            if code == .none {
                                found[key] = answer
                            } else if code.isRetriable {
                                pending.append(key)
                                lastRetriable = .broker(code, "\(what) of partition \(key)")
                            } else {
                                throw SluiceError.broker(code, "\(what) of partition \(key)")
                            }
                        }
                    } catch let error as SluiceError where error.isTransient {
                        pending += keys
                        lastRetriable = error
                    }
                }
                if pending.isEmpty { return found }
            } catch let error as SluiceError where error.isTransient {
                lastRetriable = error  // the metadata itself: a topic whose leaders are being elected
            }
            attempt += 1
            guard WallClock.monotonicNanos() < deadline else {
                throw lastRetriable ?? SluiceError.broker(.unknownServerError, what)
            }
            backoff(attempt)
        }
    }

    /// Sleeps before retry `attempt` (1, 2, ...).
    func backoff(_ attempt: Int) {
        usleep(UInt32(client.configuration.backoffMillis(attempt) * 1000))
    }

    /// Forgets cached metadata of topics an admin request changed.
    func forget(_ name: String) { topics[name] = nil }
}

/// What `cluster describe` reports.
public struct ClusterDescription: Sendable {
    public struct Broker: Sendable {
        public var id: Int32
        public var address: BrokerAddress
        public var rack: String?
    }

    public struct Api: Sendable {
        public var name: String
        /// The broker's range, nil when it does not advertise the API.
        public var advertised: ClosedRange<Int16>?
        public var sluice: ClosedRange<Int16>

        /// The version sluice uses with this broker, nil when they share none.
        public var used: Int16? { advertised.flatMap { ApiVersionTable.best(theirs: $0, ours: sluice) } }
    }

    public var clusterId: String
    public var controllerId: Int32
    public var brokers: [Broker]
    public var answeredBy: BrokerAddress
    public var apis: [Api]
}
