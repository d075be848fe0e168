import Foundation
import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// A Kafka broker's log directory opened read-only: the real broker
/// partitions of the shared fixtures (pinterest/tiered-storage, Apache-2.0),
/// committed offsets read from `__consumer_offsets` partitions the test
/// writes from the documented schemas, and every write command refused
/// without a byte changing.
@Suite struct BrokerDirectoryTests {
    func sluice(_ arguments: [String], _ dataDir: String, stdin: String? = nil) throws -> SluiceProcess.Result {
        try SluiceProcess.run(arguments, dataDir: dataDir, stdin: stdin.map { Data($0.utf8) })
    }

    func ok(_ arguments: [String], _ dataDir: String, stdin: String? = nil) throws -> SluiceProcess.Result {
        let result = try sluice(arguments, dataDir, stdin: stdin)
        guard result.status == 0 else {
            throw ArchiveStore.Failure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.err)")
        }
        return result
    }

    func json(_ arguments: [String], _ dataDir: String) throws -> JSONValue { try JSONValue.parse(try ok(arguments, dataDir).out) }

    @Test func realBrokerPartitionsListDescribeConsumeAndRecoverRecordForRecord() throws {
        let dir = TemporaryDirectory("sluice-broker")
        let broker = dir.file("broker")
        // The broker had deleted test_topic_a-1's records below 500 (kafka-delete-records).
        try BrokerDirectory.withFixtures(broker, logStarts: [("test_topic_a", 1, 500)])
        let before = try BrokerDirectory.snapshot(broker)

        let topics = try json(["topic", "list", "--json"], broker)["topics"]!.arrayValue!
        #expect(topics.map { $0["topic"]!.stringValue! } == ["test_topic_a", "timeindex_test"])
        #expect(topics.map { $0["records"]!.int64Value! } == [10_995 + 9_519 + 10_249, 30_565])
        let described = try json(["topic", "describe", "test_topic_a", "--json"], broker)["partitions"]!.arrayValue!
        #expect(described.map { $0["log_start_offset"]!.int64Value! } == [0, 500, 0])
        #expect(described.map { $0["end_offset"]!.int64Value! } == [10_995, 10_019, 10_249])

        let consumed = try ok(["consume", "test_topic_a", "--json"], broker).out.split(separator: "\n")
        #expect(consumed.count == 30_763)
        let firstOfPartition1 = try JSONValue.parse(
            String(try ok(["consume", "test_topic_a", "-p", "1", "-c", "1", "--json"], broker).out))
        #expect(firstOfPartition1["offset"]?.int64Value == 500)
        #expect(try ok(["verify"], broker).status == 0)

        // Recover the backlog: export from the broker's disk, import elsewhere, compare record for record.
        let sluiceDir = dir.file("recovered")
        for topic in ["test_topic_a", "timeindex_test"] {
            let archive = dir.file("\(topic).tar.zst")
            try ok(["export", topic, "-o", archive, "--quiet"], broker)
            try ok(["import", archive, "--quiet"], sluiceDir)
            let original = try ok(["consume", topic, "--json"], broker).out
            let copy = try ok(["consume", topic, "--json"], sluiceDir).out
            #expect(!original.isEmpty && original == copy, "\(topic)")
        }
        #expect(
            try json(["topic", "describe", "test_topic_a", "--json"], sluiceDir)["partitions"]!.arrayValue!.map {
                $0["log_start_offset"]!.int64Value!
            } == [0, 500, 0])
        #expect(try ok(["verify"], sluiceDir).status == 0)
        #expect(try BrokerDirectory.snapshot(broker) == before, "reading a broker's directory changed it")
    }

    /// Group names and the `__consumer_offsets` partition each lives in (Kafka's hash, 50 partitions).
    static func offsetsPartition(_ group: String) -> Int { ConsumerOffsetsPartitioner.partition(forGroup: group) }

    /// A broker directory with topic `orders` (100 and 60 records) and the
    /// offsets of four classic groups, every key and value version among them.
    static func brokerWithGroups(_ dir: TemporaryDirectory) throws -> String {
        let broker = dir.file("broker")
        try BrokerDirectory.make(broker)
        let source = dir.file("source")
        let producer = PlainStore(source)
        try producer.run(["topic", "create", "orders", "-p", "2"])
        var lines = ""
        for i in 0..<100 { lines += #"{"partition":0,"timestamp":\#(1_700_000_000_000 + i * 1000),"value":"a\#(i)"}"# + "\n" }
        for i in 0..<60 { lines += #"{"partition":1,"timestamp":\#(1_700_000_000_000 + i * 1000),"value":"b\#(i)"}"# + "\n" }
        try producer.run(["produce", "orders", "--json"], stdin: lines)
        for p in 0..<2 { try FileManager.default.copyItem(atPath: "\(source)/orders-\(p)", toPath: "\(broker)/orders-\(p)") }

        typealias R = OffsetsRecord
        var partitions: [Int: [OffsetsBatch]] = [:]
        func add(_ group: String, _ batch: OffsetsBatch) { partitions[offsetsPartition(group), default: []].append(batch) }
        let metadata = R.groupMetadata("alpha")
        add(
            "alpha",
            OffsetsBatch(records: [
                metadata, (R.key(0, "alpha", "orders", 0), R.value(0, offset: 10)),
                (R.key(1, "alpha", "orders", 1), R.value(1, offset: 20)),
            ]))
        add("alpha", OffsetsBatch(records: [(R.key(1, "alpha", "orders", 0), R.value(2, offset: 30))]))
        // A KIP-848 record (ConsumerGroupMemberMetadataKey, type 5) between commits: recognised and skipped.
        add(
            "beta",
            OffsetsBatch(records: [
                (R.key(1, "beta", "orders", 0), R.value(3, offset: 40)), ([0, 5, 0, 4, 0x62, 0x65, 0x74, 0x61], [0, 0, 1]),
            ]))
        add("beta", OffsetsBatch(records: [(R.key(1, "beta", "orders", 1), R.value(4, offset: 50))]))
        add("beta", OffsetsBatch(records: [(R.key(1, "beta", "orders", 1), nil)]))
        // Transactional commits count once their COMMIT marker follows; an aborted one never does.
        add("txn", .transactional([(R.key(1, "txn", "orders", 0), R.value(3, offset: 60))], producer: 1001))
        add("txn", .transactional([(R.key(1, "txn", "orders", 1), R.value(3, offset: 55))], producer: 1002))
        add("txn", OffsetsBatch(records: [(R.key(1, "txn", "orders", 1), R.value(3, offset: 5))]))
        add("txn", .marker(commit: true, producer: 1001))
        add("txn", .marker(commit: false, producer: 1002))
        // A group whose offsets were all deleted (tombstones) is gone.
        add("gone", OffsetsBatch(records: [(R.key(1, "gone", "orders", 0), R.value(3, offset: 7))]))
        add("gone", OffsetsBatch(records: [(R.key(1, "gone", "orders", 0), nil)]))
        // A broker holds only some offsets partitions, some of them empty.
        let empty = (0..<50).first { partitions[$0] == nil }!
        partitions[empty] = []
        for (index, batches) in partitions {
            try BrokerDirectory.writePartition("\(broker)/__consumer_offsets-\(index)", batches)
        }
        return broker
    }

    /// Committed offsets by group and "topic-partition", from `lag --json`.
    func committed(_ dataDir: String) throws -> [String: [String: Int64]] {
        var out: [String: [String: Int64]] = [:]
        for group in try json(["lag", "--json"], dataDir)["groups"]!.arrayValue! {
            for topic in group["topics"]!.arrayValue! {
                for row in topic["partitions"]!.arrayValue! {
                    guard let offset = row["committed_offset"]?.int64Value else { continue }
                    out[group["group"]!.stringValue!, default: [:]]["\(topic["topic"]!.stringValue!)-\(row["partition"]!.intValue!)"] =
                        offset
                }
            }
        }
        return out
    }

    @Test func committedOffsetsOfClassicGroupsReadFromABrokersOffsetsLog() throws {
        let dir = TemporaryDirectory("sluice-broker-groups")
        let broker = try Self.brokerWithGroups(dir)
        let before = try BrokerDirectory.snapshot(broker)
        let expected: [String: [String: Int64]] = [
            "alpha": ["orders-0": 30, "orders-1": 20],
            "beta": ["orders-0": 40],
            "txn": ["orders-0": 60, "orders-1": 5],
        ]
        #expect(try committed(broker) == expected)

        let groups = try json(["group", "list", "--json"], broker)["groups"]!.arrayValue!
        #expect(groups.map { $0["group"]!.stringValue! } == ["alpha", "beta", "txn"])
        #expect(groups.map { $0["lag"]!.int64Value! } == [70 + 40, 60, 40 + 55])
        #expect(groups.allSatisfy { $0["state"]?.stringValue == "inactive" })

        let alpha = try json(["group", "describe", "alpha", "--json"], broker)
        let rows = alpha["topics"]!.arrayValue![0]["partitions"]!.arrayValue!
        #expect(rows.map { $0["committed_offset"]!.int64Value! } == [30, 20])
        #expect(rows.map { $0["log_end_offset"]!.int64Value! } == [100, 60])
        #expect(rows.map { $0["lag"]!.int64Value! } == [70, 40])
        #expect(alpha["members"]?.arrayValue?.isEmpty == true)
        #expect(try ok(["group", "history", "txn", "--json"], broker).out.contains("\"offset\": 60"))
        #expect(try sluice(["group", "describe", "gone"], broker).status == 1)

        // Cron-style alerting works offline too: exit 2 naming the partition over the threshold.
        let alert = try sluice(["lag", "--max-lag", "60"], broker)
        #expect(alert.status == 2)
        #expect(alert.errorLines.last?.contains("orders-0") == true && alert.errorLines.last?.contains("1 partition") == true)

        // export --with-groups carries the offsets to a sluice directory.
        let archive = dir.file("orders.tar.zst")
        try ok(["export", "orders", "--with-groups", "-o", archive, "--quiet"], broker)
        let recovered = dir.file("recovered")
        try ok(["import", archive, "--with-groups", "--quiet"], recovered)
        #expect(try committed(recovered) == expected)
        #expect(try BrokerDirectory.snapshot(broker) == before, "reading a broker's offsets changed its directory")
    }

    /// Every leaf command of `sluice --help`, as its words ("group seek").
    static func leafCommands(_ prefix: [String] = []) throws -> [[String]] {
        let help = try SluiceProcess.run(prefix + ["--help"]).out
        guard let section = help.range(of: "SUBCOMMANDS:") else { return [prefix] }
        var leaves: [[String]] = []
        for line in help[section.upperBound...].split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = words.first,
                name.allSatisfy({ $0.isLowercase || $0 == "-" }), !prefix.contains(String(name))
            else { continue }
            leaves += try leafCommands(prefix + [String(name)])
        }
        return leaves
    }

    /// How each command is run against a broker's directory: the ones that
    /// write (must be refused) and the ones that only read. A command added
    /// to sluice must be added here, in one list or the other.
    static func writes(archive: String) -> [[String]] {
        [
            ["topic", "create", "x"], ["topic", "alter", "test_topic_a", "-p", "5"],
            ["topic", "alter", "test_topic_a", "-c", "retention.ms=1d"],
            ["topic", "delete", "test_topic_a", "--yes"], ["produce", "test_topic_a"], ["consume", "test_topic_a", "--group", "g"],
            ["consume", "test_topic_a", "--group", "g", "--no-commit"],
            ["group", "seek", "g", "--topic", "test_topic_a", "--to-earliest", "--execute"],
            ["group", "rollback", "g", "--steps", "1", "--execute"],
            ["group", "delete", "g"], ["import", archive], ["import", archive, "--topic", "fresh"], ["verify", "--repair"],
            ["retention", "--execute"], ["delete-records", "test_topic_a", "--before", "100", "--yes"],
            ["redistribute", "start", "test_topic_a", "--group", "g", "--execute"], ["redistribute", "finish", "r"],
            ["topic", "migrate", "test_topic_a", "--to", "m", "--partitions", "4", "--execute"],
        ]
    }

    static func reads(archive: String, broker: String) -> [[String]] {
        [
            ["topic", "list"], ["topic", "describe", "test_topic_a"], ["consume", "test_topic_a", "-c", "1"], ["group", "list"],
            ["group", "seek", "g", "--topic", "test_topic_a", "--to-earliest"], ["lag"],
            ["export", "test_topic_a", "--dry-run", "-o", "/dev/null"],
            ["archive", "inspect", archive], ["archive", "verify", archive], ["dump", broker + "/test_topic_a-0"], ["verify"],
            ["retention"],
            ["delete-records", "test_topic_a", "--before", "100", "--dry-run"], ["import", archive, "--dry-run"],
            ["redistribute", "start", "test_topic_a", "--group", "g"], ["redistribute", "status"],
            ["topic", "migrate", "test_topic_a", "--to", "m", "--partitions", "4"],
            // Read-only too, failing only because the broker has no group 'g'.
            ["group", "describe", "g"], ["group", "history", "g"], ["group", "rollback", "g", "--steps", "1"],
        ]
    }

    @Test func everyWriteCommandIsRefusedOnABrokersDirectoryAndChangesNothing() throws {
        let dir = TemporaryDirectory("sluice-broker-refusals")
        let broker = dir.file("broker")
        try BrokerDirectory.withFixtures(broker, logStarts: [("test_topic_a", 1, 500)])
        let archive = dir.file("small.tar.zst")
        let source = PlainStore(dir.file("source"))
        try source.run(["topic", "create", "small"])
        try source.run(["produce", "small"], stdin: "one\ntwo\n")
        try source.run(["export", "small", "-o", archive, "--quiet"])
        let writes = Self.writes(archive: archive)
        let reads = Self.reads(archive: archive, broker: broker)

        // Every command sluice has is classified here; `cluster describe` opens no data directory.
        let clusterOnly = [["cluster", "describe"]]
        let known = (writes + reads + clusterOnly).map { $0.prefix { !$0.hasPrefix("-") && $0 == $0.lowercased() } }
        for leaf in try Self.leafCommands() {
            #expect(
                known.contains { Array($0.prefix(leaf.count)) == leaf },
                "classify '\(leaf.joined(separator: " "))' as a write or a read in this test")
        }

        let before = try BrokerDirectory.snapshot(broker)
        for arguments in writes {
            let result = try sluice(arguments, broker, stdin: "x\n")
            #expect(result.status == 1, "\(arguments): \(result.err)")
            #expect(
                result.errorLines.count == 1
                    && result.errorLines[0].contains("is a Kafka broker's log directory, which sluice opens read-only"),
                "\(arguments): \(result.err)")
            #expect(try BrokerDirectory.snapshot(broker) == before, "\(arguments) changed the broker's directory")
        }
        for arguments in clusterOnly {
            let result = try sluice(arguments, broker)
            #expect(result.status == 64 && result.err.contains("needs a cluster"), "\(arguments): \(result.err)")
        }
        for arguments in reads {
            let result = try sluice(arguments, broker)
            let unknownGroup = arguments.starts(with: ["group"]) && result.err.contains("consumer group 'g' has no committed offsets")
            #expect(result.status == 0 || unknownGroup, "\(arguments): \(result.err)")
            #expect(try BrokerDirectory.snapshot(broker) == before, "\(arguments) changed the broker's directory")
        }
    }
}

/// Runs sluice on a sluice data directory that needs no offsets topic.
struct PlainStore {
    let path: String
    init(_ path: String) { self.path = path }

    func run(_ arguments: [String], stdin: String? = nil) throws {
        let result = try SluiceProcess.run(arguments, dataDir: path, stdin: stdin.map { Data($0.utf8) })
        guard result.status == 0 else {
            throw ArchiveStore.Failure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.err)")
        }
    }
}
