import KafkaFormat
import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore

/// How a redistribution places records in the temporary topic.
public enum RedistributionStrategy: String, Sendable, CaseIterable {
    /// Whole batches to the partition with the fewest records so far.
    case roundRobin = "round-robin"
    /// Kafka's default partitioner on the key; unkeyed records in turn.
    case key
    /// Source partition p only to temporary partitions p·factor ..< (p+1)·factor.
    case sourcePartition = "source-partition"

    /// What the strategy does to ordering, for plans and help.
    public var ordering: String {
        switch self {
        case .roundRobin:
            return "even spread (every partition within ±5% of the mean for backlogs of 100,000 records or more); per-key order is NOT kept"
        case .key:
            return
                """
                each key in Kafka's partition for it (murmur2 of the key modulo the partition count): \
                per-key order is kept; unkeyed records are spread evenly; the spread follows the keys
                """
        case .sourcePartition:
            return "source partition p goes only to partitions p·factor to p·factor+factor-1, evenly; per-key order is NOT kept"
        }
    }

    /// Whether whole batches can be copied untouched (when provenance is off).
    var copiesWholeBatches: Bool { self != .key }

    public static func parse(_ text: String, allowed: [RedistributionStrategy] = allCases) throws -> RedistributionStrategy {
        guard let strategy = Self(rawValue: text), allowed.contains(strategy) else {
            throw SluiceError.usage(
                .invalidArgument, "unknown strategy '\(text.printable)'",
                remedy: "use " + allowed.map(\.rawValue).joined(separator: ", "))
        }
        return strategy
    }
}

/// The names a redistribution gives what it creates, documented in `redistribute --help`.
public enum RedistributionNames {
    /// The default temporary topic: `<topic>.<group>.x<factor>`, the group's
    /// characters outside a topic name's alphabet replaced by '_', shortened
    /// to fit Kafka's 249-character limit.
    public static func temporaryTopic(topic: String, group: String, factor: Int) -> String {
        let suffix = ".x\(factor)"
        let cleaned = String(
            group.unicodeScalars.map { scalar -> Character in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-")
                    ? Character(scalar) : "_"
            })
        let room = TopicName.maxLength - topic.utf8.count - suffix.utf8.count - 1
        return topic + "." + String(cleaned.prefix(max(0, room))) + suffix
    }

    /// The drain group: `<temporary topic>.drain`.
    public static func drainGroup(temporaryTopic: String) -> String { temporaryTopic + ".drain" }

    /// The provenance header's key (`ProvenanceHeader`).
    public static let provenanceHeader: StaticString = "sluice.source"
}

/// The provenance header every copied record gains (unless turned off):
/// `sluice.source` = `<topic>/<partition>/<offset>` of the record it copies.
/// Topic names cannot contain '/', so the value is unambiguous, and it is the
/// record's unique id across both topics, which is what a downstream consumer
/// deduplicates on.
struct ProvenanceHeader {
    static let key = RedistributionNames.provenanceHeader
    private let prefix: [UInt8]

    init(topic: String, partition: Int) {
        prefix = Array("\(topic)/\(partition)/".utf8)
    }

    /// Appends the header entry for `offset` (key length, key, value length, value) to `out`.
    @inline(__always)
    func append(offset: Int64, to out: ByteBuffer) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            let n = JSONText.formatDecimal(offset, into: raw.baseAddress!)
            out.appendVarint(Int32(Self.key.utf8CodeUnitCount))
            out.append(ascii: Self.key)
            out.appendVarint(Int32(prefix.count + n))
            out.append(prefix)
            out.append(UnsafeRawBufferPointer(start: raw.baseAddress!, count: n))
        }
    }
}
