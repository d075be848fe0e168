import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

/// The durable record of one redistribution (`redistribute start`) or
/// migration (`topic migrate`): what it copies, where it stands, and how it
/// ended. It is the copy's checkpoint, rewritten atomically after every chunk
/// (the commit point of the chunk), and stays after `finish` with the outcome.
///
///     .sluice/redistributions/<name>.redistribution   ChecksummedDocument, kind "redistribution", version 1
///     .sluice/redistributions/<name>.lock             held by the process copying or finishing it
///
/// The body (`encode`) holds: the source topic (and its id), the group G
/// (redistribution) or the translated groups (migration), the target topic,
/// its partition count, factor, strategy, provenance and follow flags; per
/// source partition the start offset (and why: G's commit or the reset
/// policy), the stop offset (null while following), the next offset to copy,
/// the end of the chunk in progress and the records copied; per target
/// partition its end offset and record count; the phase, timestamps and outcome.
public struct RedistributionRecord: Equatable, Sendable {
    public static let version = 1
    public static let documentKind = "redistribution"

    public enum Kind: String, Sendable {
        case redistribution, migration
    }

    /// Stored phases. `done` (drained) is not stored: `status` derives it
    /// from the drain group's lag.
    public enum Phase: String, Sendable {
        /// Copying the backlog; G's offsets are where they were at the start.
        case copying
        /// Copied and handed off: G continues after the backlog, the drain group drains the temporary topic.
        case draining
        /// `finish` is removing the temporary topic and the drain group's offsets.
        case finishing
        /// Finished; the temporary topic is gone. `outcome` says how.
        case finished
        /// A migration that copied everything and translated its groups' offsets.
        case migrated
    }

    /// Where a source partition's copy starts, and why.
    public enum StartReason: String, Sendable {
        /// G's committed offset.
        case committed
        /// No committed offset: the log start (Kafka's auto.offset.reset=earliest, sluice's default).
        case earliest
        /// No committed offset: the log end (auto.offset.reset=latest).
        case latest
        /// G's committed offset lay outside the log; the reset policy moved it.
        case outOfRange = "out-of-range"
        /// A migration copies everything from the log start.
        case logStart = "log-start"
    }

    public struct Source: Equatable, Sendable {
        public var partition: Int
        /// G's committed offset when the redistribution started (nil: none).
        public var committed: Int64?
        public var start: Int64
        public var startReason: StartReason
        /// Where the copy ends; nil while following.
        public var stop: Int64?
        /// The next offset to copy: everything in [start, next) is in the target.
        public var next: Int64
        /// The end of the chunk in progress: [next, chunkEnd) is being copied.
        public var chunkEnd: Int64
        /// Batches with more records than this are split to keep the spread even.
        public var splitAbove: Int64
        public var copiedRecords: Int64
        public var copiedBytes: Int64
    }

    public struct Target: Equatable, Sendable {
        public var partition: Int
        /// The target partition's end offset at the last checkpoint.
        public var end: Int64
        public var records: Int64
    }

    /// A migrated group: its committed offsets on the source when the
    /// migration started, and the translated offsets found so far.
    public struct MigratedGroup: Equatable, Sendable {
        public var group: String
        public var committed: [Int: Int64]
        /// Per target partition, the first offset holding a record the group had not consumed.
        public var translated: [Int: Int64]
    }

    public var name: String
    public var kind: Kind
    public var sourceTopic: String
    public var sourceTopicID: String
    public var targetTopic: String
    /// Set once the target topic exists (the record is written before it is created).
    public var targetTopicID: String?
    public var targetPartitions: Int
    /// Temporary partitions per source partition (redistribution only).
    public var factor: Int?
    public var strategy: RedistributionStrategy
    public var provenance: Bool
    public var follow: Bool
    /// The group whose backlog is redistributed, and the group that drains the temporary topic.
    public var group: String?
    public var drainGroup: String?
    public var migratedGroups: [MigratedGroup]
    public var sources: [Source]
    public var targets: [Target]
    /// The next target for unkeyed records under the key strategy.
    public var unkeyedNext: Int
    public var phase: Phase
    public var createdAt: Int64
    public var updatedAt: Int64
    public var handedOffAt: Int64?
    public var finishedAt: Int64?
    /// How a finished redistribution ended: drained, forced (finished before drained) or abandoned (finished while copying).
    public var outcome: String?

    public var copiedRecords: Int64 { sources.reduce(0) { $0 + $1.copiedRecords } }
    public var copiedBytes: Int64 { sources.reduce(0) { $0 + $1.copiedBytes } }
    /// Records in the ranges to copy (known once every stop is).
    public var backlogRecords: Int64? {
        var total: Int64 = 0
        for source in sources {
            guard let stop = source.stop else { return nil }
            total += stop - source.start
        }
        return total
    }
    /// Whether a chunk was planned and not yet committed.
    public var chunkPending: Bool { sources.contains { $0.chunkEnd > $0.next } }
    /// Whether every range was copied up to its stop.
    public var copyComplete: Bool { sources.allSatisfy { $0.stop == $0.next } }

    // MARK: - encoding

    public func encode() -> [UInt8] {
        ChecksummedDocument.encode(kind: Self.documentKind, version: Self.version, body: json)
    }

    var json: JSONValue {
        [
            "name": .string(name), "kind": .string(kind.rawValue), "phase": .string(phase.rawValue),
            "source_topic": .string(sourceTopic), "source_topic_id": .string(sourceTopicID),
            "target_topic": .string(targetTopic), "target_topic_id": JSONValue(targetTopicID),
            "target_partitions": JSONValue(targetPartitions), "factor": factor.map(JSONValue.init) ?? .null,
            "strategy": .string(strategy.rawValue), "provenance": .bool(provenance), "follow": .bool(follow),
            "group": JSONValue(group), "drain_group": JSONValue(drainGroup),
            "migrated_groups": .array(
                migratedGroups.map { g in
                    ["group": .string(g.group), "committed": Self.offsetMap(g.committed), "translated": Self.offsetMap(g.translated)]
                }),
            "sources": .array(
                sources.map { s in
                    [
                        "partition": JSONValue(s.partition), "committed": JSONValue(s.committed), "start": .int(s.start),
                        "start_reason": .string(s.startReason.rawValue), "stop": JSONValue(s.stop), "next": .int(s.next),
                        "chunk_end": .int(s.chunkEnd), "split_above": .int(s.splitAbove),
                        "copied_records": .int(s.copiedRecords), "copied_bytes": .int(s.copiedBytes),
                    ]
                }),
            "targets": .array(targets.map { ["partition": JSONValue($0.partition), "end": .int($0.end), "records": .int($0.records)] }),
            "unkeyed_next": JSONValue(unkeyedNext),
            "created_at": .int(createdAt), "updated_at": .int(updatedAt),
            "handed_off_at": JSONValue(handedOffAt), "finished_at": JSONValue(finishedAt), "outcome": JSONValue(outcome),
        ]
    }

    private static func offsetMap(_ map: [Int: Int64]) -> JSONValue {
        .array(map.keys.sorted().map { ["partition": JSONValue($0), "offset": .int(map[$0]!)] })
    }

    public static func decode(_ bytes: [UInt8], what: String) throws -> RedistributionRecord {
        let (_, body) = try ChecksummedDocument.decode(bytes, kind: documentKind, maxVersion: version, what: what)
        var fields = FieldReader(body: body, what: what)
        let record = try fields.record()
        guard record.targets.count == record.targetPartitions, !record.sources.isEmpty else {
            throw fields.corrupt("its partition lists do not match its partition counts")
        }
        return record
    }
}

/// Reads a record's JSON body, naming the first missing or malformed field.
private struct FieldReader {
    let body: JSONValue
    let what: String

    func corrupt(_ why: String) -> SluiceError {
        .failure(
            .corruptMetadata, "\(what) is corrupt: \(why)",
            remedy: "finish it with 'sluice redistribute finish NAME --force' and start again")
    }

    func string(_ object: JSONValue, _ key: String) throws -> String {
        guard let value = object[key]?.stringValue else { throw corrupt("field '\(key)' is missing") }
        return value
    }

    func optionalString(_ object: JSONValue, _ key: String) -> String? { object[key]?.stringValue }

    func int(_ object: JSONValue, _ key: String) throws -> Int64 {
        guard let value = object[key]?.int64Value else { throw corrupt("field '\(key)' is missing") }
        return value
    }

    func optionalInt(_ object: JSONValue, _ key: String) -> Int64? { object[key]?.int64Value }

    func array(_ object: JSONValue, _ key: String) throws -> [JSONValue] {
        guard let value = object[key]?.arrayValue else { throw corrupt("field '\(key)' is missing") }
        return value
    }

    func enumeration<T: RawRepresentable>(_ object: JSONValue, _ key: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: try string(object, key)) else { throw corrupt("field '\(key)' has an unknown value") }
        return value
    }

    func offsets(_ list: [JSONValue]) throws -> [Int: Int64] {
        var map: [Int: Int64] = [:]
        for entry in list { map[Int(try int(entry, "partition"))] = try int(entry, "offset") }
        return map
    }

    mutating func record() throws -> RedistributionRecord {
        let sources = try array(body, "sources").map { s in
            RedistributionRecord.Source(
                partition: Int(try int(s, "partition")), committed: optionalInt(s, "committed"), start: try int(s, "start"),
                startReason: try enumeration(s, "start_reason"), stop: optionalInt(s, "stop"), next: try int(s, "next"),
                chunkEnd: try int(s, "chunk_end"), splitAbove: try int(s, "split_above"),
                copiedRecords: try int(s, "copied_records"), copiedBytes: try int(s, "copied_bytes"))
        }
        let targets = try array(body, "targets").map { t in
            RedistributionRecord.Target(partition: Int(try int(t, "partition")), end: try int(t, "end"), records: try int(t, "records"))
        }
        let groups = try array(body, "migrated_groups").map { g in
            RedistributionRecord.MigratedGroup(
                group: try string(g, "group"), committed: try offsets(try array(g, "committed")),
                translated: try offsets(try array(g, "translated")))
        }
        return RedistributionRecord(
            name: try string(body, "name"), kind: try enumeration(body, "kind"),
            sourceTopic: try string(body, "source_topic"), sourceTopicID: try string(body, "source_topic_id"),
            targetTopic: try string(body, "target_topic"), targetTopicID: optionalString(body, "target_topic_id"),
            targetPartitions: Int(try int(body, "target_partitions")), factor: optionalInt(body, "factor").map { Int($0) },
            strategy: try enumeration(body, "strategy"), provenance: body["provenance"]?.boolValue ?? false,
            follow: body["follow"]?.boolValue ?? false, group: optionalString(body, "group"),
            drainGroup: optionalString(body, "drain_group"), migratedGroups: groups, sources: sources, targets: targets,
            unkeyedNext: Int(try int(body, "unkeyed_next")), phase: try enumeration(body, "phase"),
            createdAt: try int(body, "created_at"), updatedAt: try int(body, "updated_at"),
            handedOffAt: optionalInt(body, "handed_off_at"), finishedAt: optionalInt(body, "finished_at"),
            outcome: optionalString(body, "outcome"))
    }
}
