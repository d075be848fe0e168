import KafkaClient
import KafkaProtocol
import SluiceCore
import TestSupport
import Testing

/// The client against the test broker (Tansu): negotiation, metadata,
/// pipelining, and what a user sees when a broker cannot be reached.
@Suite struct KafkaClientTests {
    static func client(_ bootstrap: String) throws -> KafkaClient {
        KafkaClient(ClientConfiguration(bootstrapServers: try BrokerAddress.parseList(bootstrap)))
    }

    @Test func negotiatesVersionsAndReadsMetadata() throws {
        let broker = try TestBroker.shared
        let topic = TestBroker.uniqueTopic("client-metadata")
        try broker.client.createTopic(topic, partitions: 3)
        let client = try Self.client(broker.bootstrap)
        let connection = try client.anyConnection()
        // Tansu advertises Metadata up to v12 and Produce up to v11: the best common versions are sluice's newest.
        #expect(connection.versions.version(for: MetadataRequest.self) == MetadataRequest.versions.upperBound)
        #expect(connection.versions.version(for: ProduceRequest.self) == ProduceRequest.versions.upperBound)
        #expect(connection.versions.version(for: CreatePartitionsRequest.self) == nil)
        let metadata = try client.metadata(topics: [topic])
        #expect(metadata.clusterId == broker.clusterID)
        #expect(metadata.topics.map(\.name) == [topic])
        #expect(metadata.topics[0].partitions.map(\.partitionIndex).sorted() == [0, 1, 2])
        let leader = metadata.topics[0].partitions[0].leaderId
        #expect(try client.connection(toBroker: leader).isOpen)
    }

    @Test func anUnknownTopicIsNotCreatedByAskingForIt() throws {
        let broker = try TestBroker.shared
        let topic = TestBroker.uniqueTopic("client-absent")
        let client = try Self.client(broker.bootstrap)
        let metadata = try client.metadata(topics: [topic])
        #expect(metadata.topics.map { KafkaErrorCode($0.errorCode) } == [.unknownTopicOrPartition])
        #expect(!(try client.metadata(topics: nil).topics.contains { $0.name == topic }))
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let broker = try TestBroker.shared
        let topics = (0..<20).map { TestBroker.uniqueTopic("client-pipelined-\($0)") }
        let connection = try Self.client(broker.bootstrap).anyConnection()
        let pending = try topics.map { name in
            var request = MetadataRequest()
            var topic = MetadataRequest.MetadataRequestTopic()
            topic.name = name
            request.topics = [topic]
            request.allowAutoTopicCreation = false
            return try connection.submit(request)
        }
        #expect(try pending.map { try $0.wait().topics.map(\.name) } == topics.map { [$0] })
    }

    @Test func anUnreachableClusterIsOneLineNamingEveryAddressTried() throws {
        let closed = try [TestBroker.freePort(), TestBroker.freePort()].map { "127.0.0.1:\($0)" }
        var configuration = ClientConfiguration(bootstrapServers: try BrokerAddress.parseList(closed.joined(separator: ",")))
        configuration.retries = 0
        let error = try #require(throws: SluiceError.self) { try KafkaClient(configuration).metadata(topics: nil) }
        #expect(error.reason == .brokerUnreachable)
        let tried = closed.map { "cannot connect to broker \($0): connection refused" }
        #expect(error.message == "cannot connect to any broker: \(tried.joined(separator: "; "))")
    }
}
