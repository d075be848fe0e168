import Foundation
import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// `produce` and `consume` on a live cluster (the Tansu test broker): what
/// sluice writes the independent client (librdkafka) reads back exactly, and
/// what it writes sluice reads back exactly, in every codec.
@Suite struct ClusterProduceConsumeTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.shared }

    func sluice(_ arguments: [String], stdin: Data? = nil) throws -> SluiceProcess.Result {
        try SluiceProcess.run(arguments + ["--bootstrap-server", broker.bootstrap], stdin: stdin)
    }

    /// `consume --json` lines as records, with partition and offset.
    static func parse(_ out: String) throws -> [ClusterRecord] {
        try out.split(separator: "\n").map { line in
            let json = try JSONValue.parse(String(line))
            func bytes(_ value: JSONValue?, _ encoded: JSONValue?) -> [UInt8]? {
                if let encoded = encoded?.stringValue { return Data(base64Encoded: encoded).map { Array($0) } }
                return value?.stringValue.map { Array($0.utf8) }
            }
            let headers = (json["headers"]?.arrayValue ?? []).map { header in
                ClusterRecord.Header(header["key"]?.stringValue ?? "", bytes(header["value"], header["value_base64"]))
            }
            return ClusterRecord(
                key: bytes(json["key"], json["key_base64"]), value: bytes(json["value"], json["value_base64"]), headers: headers,
                timestamp: json["timestamp"]?.int64Value, partition: json["partition"]?.intValue, offset: json["offset"]?.int64Value)
        }
    }

    /// `produce --json` input for records.
    static func input(_ records: [ClusterRecord]) -> Data {
        Data(
            records.map { record -> String in
                let headers = JSONValue.array(
                    record.headers.map { ["key": .string($0.key), "value": $0.valueString.map(JSONValue.string) ?? .null] })
                var fields: [(String, JSONValue)] = [
                    ("key", record.key.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null),
                    ("value", record.value.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null), ("headers", headers),
                ]
                if let timestamp = record.timestamp { fields.append(("timestamp", .int(timestamp))) }
                return JSONValue.object(fields).serialized() + "\n"
            }.joined().utf8)
    }

    static func byPlace(_ records: [ClusterRecord]) -> [String: ClusterRecord] {
        Dictionary(records.map { ("\($0.partition!)@\($0.offset!)", $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test(arguments: ["none", "zstd"])
    func producedRecordsAreReadBackByTheIndependentClient(compression: String) throws {
        let topic = TestBroker.uniqueTopic("cluster-produce-\(compression)")
        try broker.client.createTopic(topic, partitions: 3)
        let sent = ClusterTestBedTests.records("sluice-\(compression)")
        let produced = try sluice(
            ["produce", topic, "--json", "--compression", compression, "--batch-size", "2048"], stdin: Self.input(sent))
        #expect(produced.status == 0, "\(produced.err)")
        let summary = try JSONValue.parse(produced.out)
        #expect(summary["records"] == 100)

        let received = try broker.client.consume(topic, expect: sent.count)
        #expect(received.count == sent.count)
        // Every record arrives once, with its key, value, headers and timestamp; keyed ones where murmur2 puts them.
        var unmatched = sent.map(\.content)
        for record in received {
            if let i = unmatched.firstIndex(of: record.content) { unmatched.remove(at: i) }
            if let key = record.key {
                #expect(record.partition == key.withUnsafeBytes { KafkaPartitioner.partition(forKey: $0, partitions: 3) })
            }
        }
        #expect(unmatched.isEmpty, "not received: \(unmatched)")
        // The summary's offsets are where the records are.
        for entry in summary["partitions"]?.arrayValue ?? [] {
            let partition = entry["partition"]?.intValue ?? -1
            let offsets = received.filter { $0.partition == partition }.compactMap(\.offset)
            #expect(entry["records"] == .int(Int64(offsets.count)))
            #expect(entry["first_offset"] == .int(offsets.min() ?? -1) && entry["next_offset"] == .int((offsets.max() ?? -2) + 1))
        }
    }

    @Test(arguments: IndependentClient.Compression.allCases)
    func recordsOthersWroteAreConsumedExactly(compression: IndependentClient.Compression) throws {
        let topic = TestBroker.uniqueTopic("cluster-consume-\(compression)")
        let sent = ClusterTestBedTests.records(compression.rawValue)
        let deliveries = try broker.client.produce(topic, sent, partitions: 3, compression: compression)
        let consumed = try sluice(["consume", topic, "--json"])
        #expect(consumed.status == 0, "\(consumed.err)")
        let received = Self.byPlace(try Self.parse(consumed.out))
        #expect(received.count == sent.count)
        for (record, delivery) in zip(sent, deliveries) {
            #expect(received["\(delivery.partition)@\(delivery.offset)"]?.content == record, "\(delivery)")
        }
    }

    /// One record per batch (sluice's producer with a 64-byte batch size):
    /// Tansu's ListOffsets latest is right only then. `--from @TIME` is not
    /// tried here: Tansu answers ListOffsets by timestamp with its receive
    /// times, not the records' timestamps.
    @Test func consumeHonoursPartitionsStartsLimitsAndBounds() throws {
        let topic = TestBroker.uniqueTopic("cluster-bounds")
        try broker.client.createTopic(topic, partitions: 2)
        let base: Int64 = 1_700_000_000_000
        let sent = (0..<20).map { ClusterRecord(key: nil, value: "v\($0)", timestamp: base + Int64($0) * 1000) }
        let produced = try sluice(["produce", topic, "--json", "-p", "1", "--batch-size", "64"], stdin: Self.input(sent))
        #expect(produced.status == 0, "\(produced.err)")
        #expect(try JSONValue.parse(produced.out)["batches"] == 20)
        func values(_ arguments: [String]) throws -> [String] {
            let result = try sluice(["consume", topic] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.err)")
            return result.out.split(separator: "\n").map(String.init)
        }
        #expect(try values(["-p", "1", "--from", "15"]) == (15..<20).map { "v\($0)" })
        #expect(try values(["-p", "1", "--from", "-3"]) == ["v17", "v18", "v19"])
        #expect(try values(["-p", "1", "--from", "5", "-c", "3"]) == ["v5", "v6", "v7"])
        #expect(try values(["-p", "1", "--until-offset", "4"]) == ["v0", "v1", "v2", "v3"])
        #expect(try values(["-p", "1", "--from", "2", "--until", "@\(base + 5_000)"]) == ["v2", "v3", "v4"])
        #expect(try values(["-p", "0"]).isEmpty)
        #expect(try values(["--format", "%p:%o %v\\n", "-c", "1"]) == ["1:0 v0"])
        #expect(try values(["--from", "latest"]).isEmpty)
    }

    @Test(arguments: [
        ("produce to a missing partition", ["produce", "T", "-p", "5"], Int32(64), "topic 'T' has no partition 5"),
        ("consume a missing partition", ["consume", "T", "-p", "5"], 64, "topic 'T' has no partition 5"),
        ("produce to a missing topic", ["produce", "nope-T"], 1, "topic 'nope-T' does not exist in"),
        ("consume in a group", ["consume", "T", "--group", "g"], 64, "consume --group does not run on a Kafka cluster yet"),
        ("sync interval", ["produce", "T", "--sync-interval", "1s"], 64, "--sync-interval applies to a data directory"),
    ])
    func badInputIsOneLineAndWritesNothing(label: String, arguments: [String], status: Int32, message: String) throws {
        let topic = TestBroker.uniqueTopic("cluster-bad-io")
        try broker.client.createTopic(topic, partitions: 2)
        let result = try sluice(arguments.map { $0.replacingOccurrences(of: "T", with: topic) }, stdin: Data("a\nb\n".utf8))
        #expect(result.status == status, "\(label): \(result.err)")
        let expected = message.replacingOccurrences(of: "T", with: topic)
        #expect(result.errorLines.count == 1 && result.errorLines[0].contains(expected), "\(label): \(result.err)")
        #expect(try broker.client.consume(topic).isEmpty, "\(label) wrote records")
    }
}
