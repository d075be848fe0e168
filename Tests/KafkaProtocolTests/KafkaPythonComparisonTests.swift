import Foundation
import KafkaProtocol
import SluiceCore
import TestSupport
import Testing

/// sluice's codecs against an independent encoder: kafka-python (PyPI, pinned
/// in the Makefile) encodes every message sluice speaks at every spoken
/// version with every field set to a distinct non-default value
/// (Tests/Cluster/kafka_python_vectors.py). sluice must decode each body
/// completely and encode it back to the same bytes: a field in the wrong
/// place, of the wrong type or nullability, or missing, fails here.
@Suite struct KafkaPythonComparisonTests {
    /// kafka-python 3.0.12 has no ConsumerGroupDescribe (KIP-848); its round
    /// trip is covered by CodecTests only.
    static let messages: [any KafkaMessage.Type] = (SpokenMessages.requests + SpokenMessages.responses).filter {
        !String(describing: $0).hasPrefix("ConsumerGroupDescribe")
    }

    @Test func everySpokenMessageMatchesKafkaPythonBytes() throws {
        let wanted = JSONValue.object(
            Self.messages.map { type in
                (String(describing: type), .array([.int(Int64(type.versions.lowerBound)), .int(Int64(type.versions.upperBound))]))
            })
        let script = Fixtures.packageRoot + "/Tests/Cluster/kafka_python_vectors.py"
        let output = try IndependentClient.execute(
            [try IndependentClient.python, script, wanted.serialized(pretty: false)], timeout: 120)
        #expect(output.status == 0, "\(output.err)")
        let byName = Dictionary(uniqueKeysWithValues: Self.messages.map { (String(describing: $0), $0) })
        var compared = 0
        for line in output.out.split(separator: "\n") {
            let vector = try JSONValue.parse(String(line))
            let name = vector["message"]?.stringValue ?? "?"
            let version = Int16(vector["version"]?.int64Value ?? -1)
            guard let hex = vector["hex"]?.stringValue, let type = byName[name] else {
                Issue.record("kafka-python gave no bytes for \(name) v\(version): \(line)")
                continue
            }
            try type.expectRoundTrip(Self.bytes(hex), version: version)
            compared += 1
        }
        let expected = Self.messages.reduce(0) { $0 + $1.versions.count }
        #expect(compared == expected, "compared \(compared) of \(expected) message versions")
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }
}

extension KafkaMessage {
    fileprivate static func expectRoundTrip(_ bytes: [UInt8], version: Int16) throws {
        let decoded: Self
        do {
            decoded = try Self(decoding: bytes, version: version)
        } catch {
            Issue.record("\(Self.self) v\(version): sluice cannot decode kafka-python's bytes: \(error)")
            return
        }
        #expect(decoded.encoded(version: version) == bytes, "\(Self.self) v\(version)")
    }
}
