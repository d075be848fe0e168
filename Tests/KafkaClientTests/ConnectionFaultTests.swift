import KafkaClient
import KafkaProtocol
import SluiceCore
import TestSupport
import Testing

/// The client against the test broker through a `FaultProxy`: for each way a
/// connection breaks, the exact error a user sees, and that the client gets past
/// it where it can (a new connection for what a lost one took).
@Suite struct ConnectionFaultTests {
    static func client(_ proxy: FaultProxy, retries: Int = 0, timeoutMillis: Int64 = 30_000) throws -> KafkaClient {
        var configuration = ClientConfiguration(bootstrapServers: try BrokerAddress.parseList(proxy.address))
        configuration.retries = retries
        configuration.retryBackoffMillis = 10
        configuration.requestTimeoutMillis = timeoutMillis
        return KafkaClient(configuration)
    }

    /// A topic no test creates: Metadata for it is small and the same each time (Tansu answers
    /// Metadata for no topic with every topic, which other tests create meanwhile).
    static let absent = TestBroker.uniqueTopic("proxy-absent")

    /// Metadata for `absent`, as a request for `BrokerConnection`.
    static let metadata: MetadataRequest = {
        var request = MetadataRequest()
        var topic = MetadataRequest.MetadataRequestTopic()
        topic.name = absent
        request.topics = [topic]
        request.allowAutoTopicCreation = false
        return request
    }()

    /// Runs `body`, returning how long it took.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
        let start = ContinuousClock.now
        let value = try body()
        return (value, ContinuousClock.now - start)
    }

    @Test func aConnectionClosedMidRequestIsUnreachableAndANewOneWorks() throws {
        let broker = try TestBroker.shared
        let proxy = try FaultProxy(in: broker)
        let client = try Self.client(proxy)
        let connection = try client.anyConnection()
        proxy.fault = .closeAfterRequests(1)  // ApiVersions went through; Metadata is lost
        let error = try #require(throws: SluiceError.self) { try connection.call(Self.metadata) }
        #expect(error.reason == .brokerUnreachable)
        #expect(error.message == "broker \(proxy.address) closed the connection during Metadata")
        #expect(!connection.isOpen)
        proxy.fault = .none
        // No retry needed: the client does not reuse the closed connection.
        #expect(try client.metadata(topics: [Self.absent]).clusterId == broker.clusterID)
        #expect(proxy.connectionsAccepted == 2)
        #expect(proxy.requestsSeen == 4)  // ApiVersions, the lost Metadata; ApiVersions, Metadata
        #expect(proxy.faultsFired == 1)
    }

    @Test func aRetryOnANewConnectionGetsPastALostOne() throws {
        let broker = try TestBroker.shared
        let proxy = try FaultProxy(in: broker)
        proxy.inject(.closeAfterRequests(1), connections: 1)
        let error = try #require(throws: SluiceError.self) { try Self.client(proxy, retries: 0).metadata(topics: [Self.absent]) }
        #expect(error.reason == .brokerUnreachable)
        #expect(error.message == "broker \(proxy.address) closed the connection during Metadata")
        #expect(proxy.fault == .none)
        proxy.inject(.closeAfterRequests(1), connections: 1)
        #expect(try Self.client(proxy, retries: 1).metadata(topics: [Self.absent]).clusterId == broker.clusterID)
        #expect(proxy.faultsFired == 2)
        #expect(proxy.connectionsAccepted == 3)
    }

    @Test func everyRequestPipelinedBehindALostOneFailsToo() throws {
        let proxy = try FaultProxy(in: TestBroker.shared)
        let connection = try Self.client(proxy).anyConnection()
        proxy.fault = .closeAfterRequests(1)
        let pending = try (0..<5).map { _ in try connection.submit(Self.metadata) }
        for response in pending {
            let error = try #require(throws: SluiceError.self) { try response.wait() }
            #expect(error.reason == .brokerUnreachable)
            #expect(error.message == "broker \(proxy.address) closed the connection during Metadata")
        }
        #expect(proxy.requestsSeen == 2)  // nothing after the lost one was read
        #expect(proxy.responsesSeen == 1)
    }

    @Test func aResponseThatNeverComesTimesOutAndGivesTheConnectionUp() throws {
        let broker = try TestBroker.shared
        let proxy = try FaultProxy(in: broker)
        let client = try Self.client(proxy, timeoutMillis: 300)
        let connection = try client.anyConnection()
        proxy.fault = .dropResponses(after: 1)
        let (errors, elapsed) = try Self.timed {
            try (0..<3).map { _ in try connection.submit(Self.metadata) }.map { response in
                try #require(throws: SluiceError.self) { try response.wait() }
            }
        }
        for error in errors {
            #expect(error.reason == .brokerTimeout)
            #expect(error.message == "broker \(proxy.address) did not answer Metadata within 300ms")
        }
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(5))
        #expect(!connection.isOpen)
        // A retry on a new connection gets past a response lost on the first.
        proxy.inject(.dropResponses(after: 1), connections: 1)
        #expect(try Self.client(proxy, retries: 1, timeoutMillis: 300).metadata(topics: [Self.absent]).clusterId == broker.clusterID)
        #expect(proxy.faultsFired == 2)
    }

    @Test func aCorruptResponseIsAProtocolViolationNamingTheApiAndVersion() throws {
        let broker = try TestBroker.shared
        let proxy = try FaultProxy(in: broker)
        let client = try Self.client(proxy)
        let connection = try client.anyConnection()
        let version = try #require(connection.versions.version(for: MetadataRequest.self))
        proxy.inject(.corruptResponse(2), connections: 1)
        let error = try #require(throws: SluiceError.self) { try connection.call(Self.metadata) }
        #expect(error.reason == .protocolViolation)
        #expect(
            error.message
                == "broker \(proxy.address) sent a Metadata v\(version) response sluice cannot decode: a varint needs 1 bytes, 0 left")
        #expect(!connection.isOpen)
        // Not transient (the same broker would send the same bytes), but the client is not stuck on it.
        #expect(try client.metadata(topics: [Self.absent]).clusterId == broker.clusterID)
    }

    @Test func anOversizedFrameIsRefusedBeforeItIsRead() throws {
        let proxy = try FaultProxy(in: TestBroker.shared)
        let connection = try Self.client(proxy).anyConnection()  // a 30 s request timeout
        proxy.fault = .oversizedFrame(after: 1)
        let (error, elapsed) = Self.timed { #expect(throws: SluiceError.self) { try connection.call(Self.metadata) } }
        let failure = try #require(error)
        #expect(failure.reason == .protocolViolation)
        #expect(failure.message == "broker \(proxy.address) sent a frame of \(FaultProxy.oversizedFrameSize) bytes, which sluice refuses")
        #expect(elapsed < .seconds(5))
        #expect(!connection.isOpen)
    }

    @Test func aResponseToAnotherRequestIsAProtocolViolation() throws {
        let proxy = try FaultProxy(in: TestBroker.shared)
        let connection = try Self.client(proxy).anyConnection()
        proxy.fault = .wrongCorrelation(after: 1)
        let error = try #require(throws: SluiceError.self) { try connection.call(Self.metadata) }
        #expect(error.reason == .protocolViolation)
        // The connection's first request after ApiVersions (correlation id 0) has id 1; the proxy makes it ~1.
        #expect(error.message == "broker \(proxy.address) answered a request sluice did not send (correlation id -2)")
        #expect(!connection.isOpen)
    }

    @Test func aBrokerThatClosesEveryConnectionIsUnreachable() throws {
        let proxy = try FaultProxy(in: TestBroker.shared)
        proxy.fault = .refuse
        let error = try #require(throws: SluiceError.self) { try Self.client(proxy, retries: 2).metadata(topics: [Self.absent]) }
        #expect(error.reason == .brokerUnreachable)
        #expect(error.message == "broker \(proxy.address) closed the connection during ApiVersions")
        #expect(proxy.connectionsAccepted == 3)  // the first attempt and two retries
        #expect(proxy.requestsSeen == 0)
    }

    /// ApiVersions, the first exchange on every connection, fails as any other request does. (Not
    /// `.corruptResponse`: ApiVersions ends in tagged fields with values, and flipping the last
    /// one's byte leaves a response that decodes.)
    @Test func faultsDuringNegotiationAreReportedLikeAnyOther() throws {
        let broker = try TestBroker.shared
        let cases: [(FaultProxy.Fault, SluiceError.Reason, (String) -> String)] = [
            (.closeAfterRequests(0), .brokerUnreachable, { "broker \($0) closed the connection during ApiVersions" }),
            (.dropResponses(after: 0), .brokerTimeout, { "broker \($0) did not answer ApiVersions within 300ms" }),
            (.oversizedFrame(after: 0), .protocolViolation, { "broker \($0) sent a frame of 2147483647 bytes, which sluice refuses" }),
            (
                .wrongCorrelation(after: 0), .protocolViolation,
                { "broker \($0) answered a request sluice did not send (correlation id -1)" }
            ),
        ]
        for (fault, reason, message) in cases {
            let proxy = try FaultProxy(in: broker)
            proxy.fault = fault
            let error = try #require(throws: SluiceError.self, "\(fault)") {
                try Self.client(proxy, retries: 2, timeoutMillis: 300).metadata(topics: [Self.absent])
            }
            #expect(error.reason == reason, "\(fault)")
            #expect(error.message == message(proxy.address), "\(fault)")
            // A lost connection or a timeout is tried again (on a new connection); bytes that are wrong are not.
            let attempts = reason == .protocolViolation ? 1 : 3
            #expect(proxy.connectionsAccepted == attempts, "\(fault)")
            #expect(proxy.faultsFired == attempts, "\(fault)")
        }
    }
}

/// The proxy itself: it forwards faithfully, and stop leaves nothing behind.
@Suite struct FaultProxyTests {
    @Test func passesEverythingThroughByDefault() throws {
        let broker = try TestBroker.shared
        let topic = TestBroker.uniqueTopic("proxy-pass")
        try broker.client.createTopic(topic, partitions: 2)
        let proxy = try FaultProxy(in: broker)
        #expect(proxy.address == "127.0.0.1:\(proxy.port)")
        let client = try ConnectionFaultTests.client(proxy)
        let metadata = try client.metadata(topics: [topic])
        #expect(metadata.clusterId == broker.clusterID)
        #expect(metadata.topics.map(\.name) == [topic])
        #expect(metadata.topics[0].partitions.count == 2)
        #expect(proxy.requestsSeen == 2)
        #expect(proxy.responsesSeen == 2)
        #expect(proxy.faultsFired == 0)
        #expect(proxy.openConnections == 1)
        #expect(proxy.runningThreads == 3)  // the acceptor, and two for the connection
    }

    @Test func stopClosesEveryConnectionAndEndsEveryThread() throws {
        let proxy = try FaultProxy(in: TestBroker.shared)
        let client = try ConnectionFaultTests.client(proxy)
        let connections = try (0..<3).map { _ in try ConnectionFaultTests.client(proxy).anyConnection() } + [client.anyConnection()]
        #expect(proxy.openConnections == 4)
        proxy.stop()
        #expect(proxy.openConnections == 0)
        #expect(proxy.runningThreads == 0)
        for connection in connections {
            let error = try #require(throws: SluiceError.self) { try connection.call(ConnectionFaultTests.metadata) }
            #expect(error.reason == .brokerUnreachable)
            #expect(error.message == "broker \(proxy.address) closed the connection during Metadata")
        }
        // Nothing listens any more.
        let error = try #require(throws: SluiceError.self) { try client.metadata(topics: [ConnectionFaultTests.absent]) }
        #expect(error.message == "cannot connect to broker \(proxy.address): connection refused")
        proxy.stop()  // again: nothing to do
    }

    @Test func droppingTheProxyStopsIt() throws {
        var proxy: FaultProxy? = try FaultProxy(in: TestBroker.shared)
        let address = try #require(proxy).address
        let connection = try ConnectionFaultTests.client(try #require(proxy)).anyConnection()
        proxy = nil
        let error = try #require(throws: SluiceError.self) { try connection.call(ConnectionFaultTests.metadata) }
        #expect(error.message == "broker \(address) closed the connection during Metadata")
    }
}
