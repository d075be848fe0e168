import Foundation
import SluiceCore
import TestSupport
import Testing

/// The topic commands and `cluster describe` on a live cluster (the Tansu test
/// broker), each result checked with the independent client (librdkafka).
@Suite struct ClusterTopicTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.shared }

    func sluice(_ arguments: [String], environment: [String: String] = [:]) throws -> SluiceProcess.Result {
        try SluiceProcess.run(arguments + ["--bootstrap-server", broker.bootstrap], environment: environment)
    }

    func ok(_ arguments: [String]) throws -> SluiceProcess.Result {
        let result = try sluice(arguments)
        #expect(result.status == 0, "sluice \(arguments.joined(separator: " ")): \(result.err)")
        return result
    }

    @Test func createdTopicsAreWhatTheIndependentClientSees() throws {
        let topic = TestBroker.uniqueTopic("cluster-create")
        #expect(
            try ok(["topic", "create", topic, "-p", "3", "-c", "retention.ms=3600000"]).out
                == "created topic '\(topic)' with 3 partitions\n")
        let seen = try broker.client.describeTopic(topic)
        #expect(seen.partitions.map(\.partition).sorted() == [0, 1, 2])
        #expect(seen.configs?["retention.ms"] == "3600000")

        let listed = try JSONValue.parse(try ok(["topic", "list", "--json"]).out)["topics"]?.arrayValue ?? []
        #expect(listed.contains { $0["topic"] == .string(topic) && $0["partitions"] == 3 })
        let described = try JSONValue.parse(try ok(["topic", "describe", topic, "--json"]).out)
        // Kafka prints topic ids in URL-safe base64 (Uuid.toString); librdkafka's Python binding in standard base64.
        let urlSafeID = (seen.topicID ?? "none").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(described["id"] == .string(urlSafeID))
        #expect(described["config"]?["retention.ms"] == "3600000")
        #expect(described["partitions"]?.arrayValue?.map { $0["partition"] } == [0, 1, 2])
    }

    /// Offsets and timestamps from ListOffsets and Fetch. One record per produce
    /// call, so one per batch: Tansu's ListOffsets latest is right only then.
    @Test func describeReportsOffsetsAndTimestampsOfRecordsOthersWrote() throws {
        let topic = TestBroker.uniqueTopic("cluster-describe")
        try broker.client.createTopic(topic, partitions: 2)
        let times: [Int64] = [1_700_000_000_000, 1_700_000_005_000, 1_700_000_009_000]
        for time in times {
            try broker.client.produce(topic, [ClusterRecord(key: nil, value: "v", timestamp: time, partition: 1)])
        }
        let described = try JSONValue.parse(try ok(["topic", "describe", topic, "--json"]).out)
        let partitions = try #require(described["partitions"]?.arrayValue)
        #expect(partitions[0]["end_offset"] == 0 && partitions[0]["oldest_timestamp"] == .null)
        #expect(partitions[1]["log_start_offset"] == 0 && partitions[1]["end_offset"] == 3 && partitions[1]["records"] == 3)
        #expect(partitions[1]["oldest_timestamp"] == .int(times[0]) && partitions[1]["newest_timestamp"] == .int(times[2]))
        #expect(described["records"] == 3)
        // Tansu does not answer DescribeLogDirs: the size is unknown, not zero.
        #expect(described["bytes"] == .null && partitions[1]["segments"] == .null)
        let table = try ok(["topic", "describe", topic]).out
        #expect(table.contains("Topic: \(topic)  Partitions: 2  Records: 3  Size: -"))
    }

    @Test func alteredConfigsAndDeletedTopicsAreSeenByTheIndependentClient() throws {
        let topic = TestBroker.uniqueTopic("cluster-alter")
        try broker.client.createTopic(topic, partitions: 1)
        #expect(try ok(["topic", "alter", topic, "-c", "retention.ms=60000"]).out == "updated topic '\(topic)': retention.ms=60000\n")
        #expect(try broker.client.describeTopic(topic).configs?["retention.ms"] == "60000")
        #expect(try ok(["topic", "delete", topic, "--yes"]).out == "deleted topic '\(topic)'\n")
        let names = try ok(["topic", "list"]).out
        #expect(!names.contains(topic))
        #expect(throws: TestBedError.self) { try broker.client.describeTopic(topic) }
    }

    @Test func ifNotExistsSucceedsOnAnExistingTopicAndChangesNothing() throws {
        let topic = TestBroker.uniqueTopic("cluster-exists")
        try broker.client.createTopic(topic, partitions: 2)
        let again = try sluice(["topic", "create", topic, "-p", "5"])
        #expect(again.status == 1)
        #expect(
            again.errorLines == ["error: topic '\(topic)' already exists in \(broker.bootstrap); pick another name, or delete it first"])
        #expect(try ok(["topic", "create", topic, "-p", "5", "--if-not-exists"]).errorLines == ["topic '\(topic)' already exists"])
        #expect(try broker.client.describeTopic(topic).partitions.count == 2)
    }

    @Test func clusterDescribeNamesTheClusterItsBrokersAndTheVersionsUsed() throws {
        let described = try JSONValue.parse(try ok(["cluster", "describe", "--json"]).out)
        #expect(described["cluster_id"] == .string(broker.clusterID))
        #expect(described["brokers"]?.arrayValue?.map { $0["port"] } == [.int(Int64(broker.port))])
        let apis = try #require(described["apis"]?.arrayValue)
        #expect(apis.first { $0["api"] == "Metadata" }?["used"] == 12)
        // Tansu lacks CreatePartitions: listed, with no version in use.
        #expect(apis.first { $0["api"] == "CreatePartitions" }?["used"] == .null)
        #expect(try ok(["cluster", "describe"]).out.hasPrefix("Cluster: \(broker.clusterID)  Controller: "))
    }

    /// SLUICE_BOOTSTRAP_SERVERS selects the cluster like the flag; a `--cluster`
    /// file in Kafka's properties format does too.
    @Test func theEnvironmentAndAClusterFileSelectTheCluster() throws {
        let topic = TestBroker.uniqueTopic("cluster-env")
        try broker.client.createTopic(topic, partitions: 1)
        let viaEnvironment = try SluiceProcess.run(["topic", "list"], environment: ["SLUICE_BOOTSTRAP_SERVERS": broker.bootstrap])
        #expect(viaEnvironment.status == 0 && viaEnvironment.out.contains(topic), "\(viaEnvironment.err)")

        let config = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: config.file("sluice/clusters"), withIntermediateDirectories: true)
        try "# the test broker\nbootstrap.servers = \(broker.bootstrap)\nrequest.timeout.ms: 20000\n"
            .write(toFile: config.file("sluice/clusters/test.properties"), atomically: true, encoding: .utf8)
        let viaFile = try SluiceProcess.run(["topic", "list", "--cluster", "test"], environment: ["XDG_CONFIG_HOME": config.path])
        #expect(viaFile.status == 0 && viaFile.out.contains(topic), "\(viaFile.err)")
        let unknownName = try SluiceProcess.run(["topic", "list", "--cluster", "nope"], environment: ["XDG_CONFIG_HOME": config.path])
        #expect(unknownName.status == 64)
        #expect(
            unknownName.errorLines.first?.hasPrefix("error: cluster 'nope': \(config.path)/sluice/clusters/nope.properties does not exist")
                == true)
    }

    @Test(arguments: [
        (
            "a broker lacking the API", ["topic", "alter", "T", "-p", "4"], Int32(1),
            "does not support CreatePartitions (it advertises no version, sluice speaks v1-3)"
        ),
        ("unknown topic", ["topic", "describe", "nope-T"], 1, "topic 'nope-T' does not exist in"),
        ("decreasing partitions", ["topic", "alter", "T", "-p", "1"], 64, "cannot decrease topic 'T' from 2 to 1 partitions"),
        ("malformed config", ["topic", "create", "new-T", "-c", "retention.ms"], 64, "malformed config 'retention.ms'"),
        ("zero partitions", ["topic", "create", "new-T", "-p", "0"], 64, "invalid partition count 0"),
        ("data dir and cluster", ["topic", "list", "--data-dir", "/tmp"], 64, "--data-dir and a cluster"),
        ("a command not on clusters yet", ["group", "list"], 64, "this command does not run on a Kafka cluster yet"),
    ])
    func badInputOnAClusterIsOneLineAndChangesNothing(label: String, arguments: [String], status: Int32, message: String) throws {
        let topic = TestBroker.uniqueTopic("cluster-bad")
        try broker.client.createTopic(topic, partitions: 2)
        let result = try sluice(arguments.map { $0.replacingOccurrences(of: "T", with: topic) })
        #expect(result.status == status, "\(label): \(result.err)")
        #expect(
            result.errorLines.count == 1 && result.errorLines[0].contains(message.replacingOccurrences(of: "T", with: topic)),
            "\(label): \(result.err)")
        #expect(try broker.client.describeTopic(topic).partitions.count == 2)
        #expect(throws: TestBedError.self, "\(label) created a topic") { try broker.client.describeTopic("new-\(topic)") }
    }

    @Test func anUnreachableClusterIsOneLine() throws {
        let address = "127.0.0.1:\(try TestBroker.freePort())"
        let result = try SluiceProcess.run(["topic", "list", "--bootstrap-server", address])
        #expect(result.status == 1)
        #expect(
            result.errorLines == [
                """
                error: cannot connect to broker \(address): connection refused; check --bootstrap-server (or the \
                cluster's entry in the config file) and that the brokers are up
                """
            ])
    }
}
