import KafkaProtocol
import NIOCore
import NIOPosix
import SluiceCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A client of one Kafka cluster: a connection per broker (opened on first
/// use, version-negotiated, pipelined), the brokers' addresses learnt from
/// Metadata, and retries with backoff for what can safely be repeated.
/// Every call blocks its caller; the I/O runs on one event loop thread, and
/// requests to several brokers submitted together are in flight together.
public final class KafkaClient: Sendable {
    public let configuration: ClientConfiguration
    private let loop = EventLoopThread()
    private let state = Mutex(State())

    private struct State {
        var brokers: [Int32: BrokerAddress] = [:]
        /// The controller as the last Metadata named it (-1: unknown).
        var controllerId: Int32 = -1
        var connections: [BrokerAddress: BrokerConnection] = [:]
    }

    public init(_ configuration: ClientConfiguration) {
        self.configuration = configuration
    }

    /// The open connection to `address`, opened (and negotiated) if there is none.
    public func connection(to address: BrokerAddress) throws -> BrokerConnection {
        if let open = state.withLock({ $0.connections[address] }), open.isOpen { return open }
        let connection = try BrokerConnection.open(address, settings: configuration, on: loop)
        state.withLock { $0.connections[address] = connection }
        return connection
    }

    /// The connection to the broker with this node id, as Metadata named it.
    public func connection(toBroker id: Int32) throws -> BrokerConnection {
        guard let address = state.withLock({ $0.brokers[id] }) else {
            throw SluiceError.failure(
                .brokerUnreachable, "broker \(id) is not among the brokers the cluster's metadata lists",
                remedy: "the cluster may be changing; try again")
        }
        return try connection(to: address)
    }

    /// A connection to any broker: one already open, else the brokers
    /// Metadata named and then the bootstrap servers, each in turn.
    public func anyConnection() throws -> BrokerConnection {
        let (open, known) = state.withLock { state in
            (state.connections.values.first { $0.isOpen }, state.brokers.sorted { $0.key < $1.key }.map(\.value))
        }
        if let open { return open }
        var failures: [SluiceError] = []
        for address in Self.unique(known + configuration.bootstrapServers) {
            do {
                return try connection(to: address)
            } catch let error as SluiceError {
                failures.append(error)
            }
        }
        // A broker that was reached but failed otherwise (timed out, sent bytes that are wrong) says so.
        if failures.count == 1, failures[0].reason != .brokerUnreachable { throw failures[0] }
        throw SluiceError.failure(
            .brokerUnreachable,
            failures.count == 1 ? failures[0].message : "cannot connect to any broker: " + failures.map(\.message).joined(separator: "; "),
            remedy: "check --bootstrap-server (or the cluster's entry in the config file) and that the brokers are up")
    }

    /// Metadata for the named topics (nil: every topic), never creating
    /// one (some brokers auto-create topics a Metadata request names); the
    /// brokers it lists become reachable by node id.
    public func metadata(topics: [String]?) throws -> MetadataResponse {
        var request = MetadataRequest()
        request.topics = topics.map { names in
            names.map { name in
                var topic = MetadataRequest.MetadataRequestTopic()
                topic.name = name
                return topic
            }
        }
        request.allowAutoTopicCreation = false
        let response = try retrying { try anyConnection().call(request) }
        learn(response)
        return response
    }

    private func learn(_ metadata: MetadataResponse) {
        state.withLock { state in
            for broker in metadata.brokers { state.brokers[broker.nodeId] = BrokerAddress(host: broker.host, port: Int(broker.port)) }
            state.controllerId = metadata.controllerId
        }
    }

    /// Sends an admin request (CreateTopics, DeleteTopics, CreatePartitions)
    /// to the controller: a ZooKeeper-mode broker that is not the controller
    /// refuses them with NOT_CONTROLLER (KRaft brokers forward them). `check`
    /// throws for an error in the answer; NOT_CONTROLLER, or the controller
    /// unreachable, refreshes the metadata and tries again.
    public func callController<R: KafkaRequest>(_ request: R, check: (R.Response) throws -> Void) throws -> R.Response {
        try retrying {
            let id = state.withLock { $0.controllerId }
            do {
                let response = try (id >= 0 ? connection(toBroker: id) : anyConnection()).call(request)
                try check(response)
                return response
            } catch let error as SluiceError where error.isTransient {
                _ = try? metadata(topics: [])
                throw error
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or runs out of
    /// retries; a lost connection, a timeout or a retriable Kafka error is
    /// tried again after a backoff that doubles (100 ms, 200 ms, … 1 s).
    public func retrying<T>(_ attempt: () throws -> T) throws -> T {
        var retry = 0
        while true {
            do {
                return try attempt()
            } catch let error as SluiceError where error.isTransient && retry < configuration.retries {
                retry += 1
                usleep(UInt32(configuration.backoffMillis(retry) * 1000))
            }
        }
    }

    private static func unique(_ addresses: [BrokerAddress]) -> [BrokerAddress] {
        var seen = Set<BrokerAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

/// The one event loop thread a client's connections run on. Each connection
/// holds it too, so a connection outliving its client keeps working; the
/// thread stops when the last of them is gone.
final class EventLoopThread: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    deinit {
        // Not the blocking shutdown: the last reference may drop on the loop itself.
        group.shutdownGracefully { _ in }
    }
}

extension SluiceError {
    /// Whether trying again may succeed: the broker was unreachable, slow, or
    /// answered with an error Kafka marks retriable.
    public var isTransient: Bool {
        [.brokerUnreachable, .brokerTimeout, .brokerBusy].contains(reason)
    }
}
