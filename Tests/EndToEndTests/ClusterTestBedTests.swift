import Foundation
import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// The test bed the Kafka-cluster tests stand on, tested by itself: the shared Tansu
/// broker (`TestBroker`) and the independent client (`IndependentClient`, librdkafka
/// through Tests/Cluster/peer.py) write and read real records. If these fail, every
/// cluster test would: run `make test-tools`.
@Suite struct ClusterTestBedTests {
    /// 100 records over 3 partitions: keys (13 distinct, some null), values (some null,
    /// non-ASCII, growing), ordered and repeated headers (one null), explicit timestamps.
    static func records(_ tag: String) -> [ClusterRecord] {
        (0..<100).map { i in
            ClusterRecord(
                key: i % 25 == 3 ? nil : "key-\(i % 13)",
                value: i % 10 == 7 ? nil : "\(tag) value \(i) é \"quoted\" " + String(repeating: "x", count: i * 3),
                headers: [("i", "\(i)"), ("dup", "first"), ("dup", i % 2 == 0 ? nil : "second")],
                timestamp: 1_700_000_000_000 + Int64(i) * 1000)
        }
    }

    @Test(arguments: IndependentClient.Compression.allCases)
    func independentClientRoundTripsKeyedRecordsWithHeaders(compression: IndependentClient.Compression) throws {
        let broker = try TestBroker.shared
        let client = broker.client
        let topic = TestBroker.uniqueTopic("bed-\(compression)")
        let sent = Self.records(compression.rawValue)
        let deliveries = try client.produce(topic, sent, partitions: 3, compression: compression)

        // Keyed records go where Java's partitioner (murmur2) puts them, as sluice's do.
        for (record, delivery) in zip(sent, deliveries) where record.key != nil {
            let expected = record.key!.withUnsafeBytes { KafkaPartitioner.partition(forKey: $0, partitions: 3) }
            #expect(delivery.partition == expected, "\(record)")
        }

        let received = try client.consume(topic, expect: sent.count)
        #expect(received.count == sent.count)
        // Each record where its delivery said, with everything it was sent with.
        let byPlace = Dictionary(received.map { ("\($0.partition!)@\($0.offset!)", $0) }, uniquingKeysWith: { first, _ in first })
        for (record, delivery) in zip(sent, deliveries) {
            let got = byPlace["\(delivery.partition)@\(delivery.offset)"]
            #expect(got?.content == record, "\(delivery): sent \(record), received \(got.map(String.init(describing:)) ?? "nothing")")
            #expect(got?.timestampType == "create")
        }
        // Within a partition, offsets 0, 1, 2, ... (no transaction markers here) in the order produced.
        for partition in 0..<3 {
            let offsets = received.filter { $0.partition == partition }.map { $0.offset! }
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition)")
        }
        // Read to the end of every partition (no --expect): the same records.
        #expect(try client.consume(topic).count == sent.count)
    }

    /// Binary keys, values and headers that are not UTF-8 go through as bytes.
    @Test func independentClientKeepsBytesThatAreNotUTF8() throws {
        let client = try TestBroker.shared.client
        let topic = TestBroker.uniqueTopic("bed-binary")
        let record = ClusterRecord(
            key: [0xff, 0x00, 0xfe], value: Array(0...255).map(UInt8.init), headers: [.init("bin", [0xc3, 0x28]), .init("empty", [])],
            timestamp: 1_700_000_000_000)
        try client.produce(topic, [record], partitions: 1, compression: .zstd)
        let received = try client.consume(topic, expect: 1)
        #expect(received.map(\.content) == [record])
    }

    /// Transactions: committed, aborted, committed, then one left open (its producer exits
    /// inside it), all into one partition. read_uncommitted sees every record; read_committed
    /// must see only the committed ones. The open transaction is hidden (Tansu's last stable
    /// offset is right); the aborted one is NOT filtered by Tansu 0.6.0, whose Fetch answers
    /// carry an empty aborted_transactions list (README "Test bed on these machines";
    /// measured by hand too): that check is a known issue, asserted as Kafka defines it.
    @Test func readCommittedSeesCommittedTransactionsOnlyAbortedOnesAreATansuDefect() throws {
        let client = try TestBroker.shared.client
        let topic = TestBroker.uniqueTopic("bed-transactions")
        func batch(_ tag: String) -> [ClusterRecord] {
            (0..<5).map { ClusterRecord(key: "k\($0)", value: "\(tag)-\($0)", headers: [("tx", tag)]) }
        }
        try client.createTopic(topic, partitions: 1)
        let committed = try client.produce(topic, batch("committed-1"), transaction: .commit)
        let aborted = try client.produce(topic, batch("aborted"), transaction: .abort)
        try client.produce(topic, batch("committed-2"), transaction: .commit)
        try client.produce(topic, batch("open"), transaction: .open)
        // Each transaction's marker takes an offset: the aborted batch starts after the first marker.
        #expect(committed.map(\.offset) == Array(0..<5))
        #expect(aborted.map(\.offset) == Array(6..<11))

        let everything = try client.consume(topic, expect: 20, isolation: .readUncommitted).compactMap(\.valueString)
        #expect(everything == ["committed-1", "aborted", "committed-2", "open"].flatMap { tag in (0..<5).map { "\(tag)-\($0)" } })

        // Up to the last stable offset, which stops before the open transaction.
        let visible = try client.consume(topic, isolation: .readCommitted).compactMap(\.valueString)
        #expect(!visible.contains { $0.hasPrefix("open") }, "\(visible)")
        #expect(visible.filter { $0.hasPrefix("committed") } == (1...2).flatMap { n in (0..<5).map { "committed-\(n)-\($0)" } })
        withKnownIssue("Tansu 0.6.0 returns no aborted_transactions in Fetch: read_committed consumers get aborted records") {
            #expect(!visible.contains { $0.hasPrefix("aborted") }, "\(visible)")
        }
    }

    @Test func topicsAreCreatedDescribedAndDeleted() throws {
        let broker = try TestBroker.shared
        let client = broker.client
        let topic = TestBroker.uniqueTopic("bed-admin")
        try client.createTopic(topic, partitions: 2, configs: ["retention.ms": "3600000"])
        let description = try client.describeTopic(topic)
        #expect(description.partitions.map(\.partition) == [0, 1])
        // Every Tansu is node 111, the only replica of everything.
        #expect(description.partitions.allSatisfy { $0.leader == 111 && $0.replicas == [111] && $0.isr == [111] })
        #expect(description.configs?["retention.ms"] == "3600000")
        try client.deleteTopic(topic)
        // Gone, and describing it does not bring it back (peer.py asks without auto-creation).
        #expect(throws: TestBedError.self) { try client.describeTopic(topic) }
        #expect(throws: TestBedError.self) { try client.describeTopic(topic) }
    }

    @Test func theBrokerIsSharedAndTopicNamesAreUnique() throws {
        let first = try TestBroker.shared
        let second = try TestBroker.shared
        #expect(first === second)
        #expect(first.isRunning)
        #expect(first.bootstrap == "127.0.0.1:\(first.port)")
        #expect(first.clusterID == "sluice-test-\(getpid())")
        let names = (0..<50).map { _ in TestBroker.uniqueTopic("same prefix/") }
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.hasPrefix("same-prefix--") })
    }
}
