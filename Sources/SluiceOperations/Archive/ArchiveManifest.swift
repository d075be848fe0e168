import KafkaFormat
import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore

/// A sluice archive (`sluice export`): one zstd stream (a single frame,
/// content checksum on) holding a POSIX tar stream, so that
/// `tar --zstd -tvf A` lists it and `tar --zstd -xf A` unpacks it:
///
///     manifest.json                              what the archive holds (first)
///     <topic>-<p>/<20-digit base offset>.log     segment files, partition by partition
///     ...
///     summary.json                               what was measured while writing (last)
///
/// Segment files hold RecordBatches exactly as they were on disk (offsets,
/// timestamps, headers, producer fields and batch compression preserved),
/// except where a range starts or ends inside a batch: that batch is
/// re-encoded with only the records in range, keeping their offsets and the
/// batch's attributes and producer fields. A file is named by the first
/// offset it may hold, so a slice starting at offset N unpacks into a
/// partition whose log starts at N. `.index` and `.timeindex` files are not
/// archived: they are derived data (Kafka rebuilds them on recovery), are
/// wrong for a slice or a re-offset import anyway, and the importer writes
/// them in the same pass as the log, with the destination topic's
/// `index.interval.bytes`.
///
/// Why a manifest and a summary: the manifest must come first so a reader can
/// check every entry as it streams past, but checksums, record counts and
/// timestamps are only known once the data has been read. Reading the source
/// twice would cost a second pass over the whole topic (and the topic may
/// change between passes), so the manifest holds everything known before the
/// first byte is copied — topic, config, filters, partitions, offset ranges,
/// every file's name, base offset and exact size, group offsets — and the
/// summary holds what was measured: per file CRC-32C, batch and record
/// counts, first and last offsets, min and max timestamps, plus the CRC-32C of
/// the manifest it completes. An importer stages everything before it commits,
/// so it checks the summary before anything becomes visible.
///
/// `min_timestamp` is the smallest batch base timestamp (each batch's first
/// record's timestamp; the batch's timestamp for LogAppendTime batches), which
/// is the smallest record timestamp unless a producer wrote timestamps that
/// decrease within a batch; `max_timestamp` is exact (batch headers carry it).
public struct ArchiveManifest: Sendable {
    public static let format = "sluice-archive"
    public static let formatVersion = 1
    public static let manifestName = "manifest.json"
    public static let summaryName = "summary.json"
    /// A manifest or summary larger than this is refused before it is read.
    static let maxDocumentBytes: Int64 = 16 << 20
    /// No sluice topic has segment files larger than this (segment.bytes ≤ 2 GiB).
    static let maxFileBytes: Int64 = 1 << 31
    /// Offsets beyond this are refused, which keeps offset arithmetic far from overflow.
    static let maxOffset: Int64 = 1 << 62

    public var tool: String
    public var archiveID: String
    public var created: Int64
    public var topic: String
    public var topicID: String
    public var partitionCount: Int
    public var config: [(String, String)]
    public var filters: ArchiveFilters
    public var partitions: [ArchivedPartition]
    /// Committed group offsets (group → partition → offset), when the export included them.
    public var groups: [String: [Int: Int64]]?

    public var totalBytes: Int64 { partitions.reduce(0) { $0 + $1.bytes } }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .string(Self.format)),
            ("format_version", JSONValue(Self.formatVersion)),
            ("tool", .string(tool)),
            ("archive_id", .string(archiveID)),
            ("created", .int(created)),
            (
                "topic",
                [
                    "name": .string(topic), "id": .string(topicID), "partitions": JSONValue(partitionCount),
                    "config": .object(config.map { ($0.0, .string($0.1)) }),
                ]
            ),
            ("filters", filters.json),
            ("partitions", .array(partitions.map(\.json))),
        ]
        if let groups {
            members.append(
                (
                    "groups",
                    .object(
                        groups.keys.sorted().map { group in
                            (
                                group,
                                .array(
                                    groups[group]!.keys.sorted().map { p in
                                        ["partition": JSONValue(p), "offset": .int(groups[group]![p]!)]
                                    })
                            )
                        })
                ))
        }
        return .object(members)
    }

    public var bytes: [UInt8] { Array((json.serialized(pretty: true) + "\n").utf8) }

    /// Parses and checks a manifest: every number in range, every file named
    /// as its partition and offset say, offsets and files in order.
    static func decode(_ bytes: [UInt8]) throws -> ArchiveManifest {
        let body: JSONValue
        do {
            body = try bytes.withUnsafeBytes { try JSONValue.parse($0) }
        } catch {
            throw ArchiveDamage("manifest.json is not valid JSON (\(error))")
        }
        guard body["format"]?.stringValue == format else {
            throw ArchiveDamage("manifest.json does not describe a sluice archive (its format is not '\(format)')")
        }
        guard let version = body["format_version"]?.intValue else { throw lie("has no format_version") }
        guard version == formatVersion else {
            throw SluiceError.failure(
                .unsupportedVersion, "the archive has format version \(version); this sluice reads version \(formatVersion)",
                remedy: version > formatVersion ? "import it with a newer sluice" : "it was not written by sluice")
        }
        guard let topic = body["topic"], let name = topic["name"]?.stringValue, let count = topic["partitions"]?.intValue,
            let config = topic["config"]?.objectValue, let id = body["archive_id"]?.stringValue,
            let list = body["partitions"]?.arrayValue
        else {
            throw lie("lacks the topic name, partition count, config, archive_id or partitions")
        }
        do { try TopicName.validate(name, allowInternal: true) } catch { throw lie("names an invalid topic '\(name.printable)'") }
        guard (1...DataDirectory.maxPartitions).contains(count) else { throw lie("gives the topic \(count) partitions") }
        var configEntries: [(String, String)] = []
        var probe = TopicConfig()
        for (key, value) in config {
            guard let text = value.stringValue, (try? probe.set(key, text)) != nil else {
                throw lie("has an invalid topic config '\(key.printable)'")
            }
            configEntries.append((key, text))
        }
        var partitions: [ArchivedPartition] = []
        for item in list {
            let partition = try ArchivedPartition(json: item, topic: name, partitionCount: count)
            if let previous = partitions.last, partition.partition <= previous.partition {
                throw lie("lists partition \(partition.partition) after partition \(previous.partition)")
            }
            partitions.append(partition)
        }
        let manifest = ArchiveManifest(
            tool: body["tool"]?.stringValue ?? "", archiveID: id, created: body["created"]?.int64Value ?? 0,
            topic: name, topicID: topic["id"]?.stringValue ?? "", partitionCount: count, config: configEntries,
            filters: ArchiveFilters(json: body["filters"]), partitions: partitions,
            groups: try body["groups"].map { try decodeGroups($0, partitions: partitions) })
        return manifest
    }

    private static func decodeGroups(_ json: JSONValue, partitions: [ArchivedPartition]) throws -> [String: [Int: Int64]] {
        guard let members = json.objectValue else { throw lie("has malformed group offsets") }
        var groups: [String: [Int: Int64]] = [:]
        for (group, list) in members {
            guard (try? GroupName.validate(group)) != nil else { throw lie("names an invalid consumer group '\(group.printable)'") }
            var offsets: [Int: Int64] = [:]
            for entry in list.arrayValue ?? [] {
                guard let p = entry["partition"]?.intValue, let offset = entry["offset"]?.int64Value,
                    let range = partitions.first(where: { $0.partition == p }), offset >= range.startOffset, offset <= range.endOffset
                else {
                    throw lie("gives group '\(group.printable)' an offset outside the archived partitions' ranges")
                }
                offsets[p] = offset
            }
            groups[group] = offsets
        }
        return groups
    }

    /// A manifest whose content is impossible.
    static func lie(_ what: String) -> ArchiveDamage { ArchiveDamage("manifest.json \(what)") }

    /// A file name inside the archive: `<topic>-<p>/<20-digit offset>.log`.
    public static func fileName(topic: String, partition: Int, baseOffset: Int64) -> String {
        "\(topic)-\(partition)/" + SegmentFileName.baseName(baseOffset) + SegmentFileName.logSuffix
    }
}

/// The filters an export was made with, recorded in the manifest.
public struct ArchiveFilters: Sendable, Equatable {
    public var partitions: [Int]?
    public var fromOffset: Int64?
    public var toOffset: Int64?
    public var since: Int64?
    public var until: Int64?
    /// The group whose backlog was exported (`--group`).
    public var group: String?

    public init(
        partitions: [Int]? = nil, fromOffset: Int64? = nil, toOffset: Int64? = nil, since: Int64? = nil,
        until: Int64? = nil, group: String? = nil
    ) {
        self.partitions = partitions
        self.fromOffset = fromOffset
        self.toOffset = toOffset
        self.since = since
        self.until = until
        self.group = group
    }

    init(json: JSONValue?) {
        partitions = json?["partitions"]?.arrayValue?.compactMap(\.intValue)
        fromOffset = json?["from_offset"]?.int64Value
        toOffset = json?["to_offset"]?.int64Value
        since = json?["since"]?.int64Value
        until = json?["until"]?.int64Value
        group = json?["group"]?.stringValue
    }

    var json: JSONValue {
        [
            "partitions": partitions.map { .array($0.map { JSONValue($0) }) } ?? .null,
            "from_offset": JSONValue(fromOffset), "to_offset": JSONValue(toOffset),
            "since": JSONValue(since), "until": JSONValue(until), "group": JSONValue(group),
        ]
    }
}

/// One partition in the archive: the offsets [start, end) it covers and its files.
public struct ArchivedPartition: Sendable {
    public var partition: Int
    public var startOffset: Int64
    /// Exclusive.
    public var endOffset: Int64
    public var files: [ArchivedFile]

    public var bytes: Int64 { files.reduce(0) { $0 + $1.bytes } }

    public init(partition: Int, startOffset: Int64, endOffset: Int64, files: [ArchivedFile]) {
        self.partition = partition
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.files = files
    }

    var json: JSONValue {
        [
            "partition": JSONValue(partition), "start_offset": .int(startOffset), "end_offset": .int(endOffset),
            "files": .array(files.map { ["name": .string($0.name), "base_offset": .int($0.baseOffset), "bytes": .int($0.bytes)] }),
        ]
    }

    init(json: JSONValue, topic: String, partitionCount: Int) throws {
        guard let p = json["partition"]?.intValue, let start = json["start_offset"]?.int64Value,
            let end = json["end_offset"]?.int64Value, let files = json["files"]?.arrayValue
        else {
            throw ArchiveManifest.lie("has a partition without partition, start_offset, end_offset or files")
        }
        guard p >= 0 && p < partitionCount else {
            throw ArchiveManifest.lie("lists partition \(p) of a topic with \(partitionCount) partitions")
        }
        guard start >= 0 && start <= end && end <= ArchiveManifest.maxOffset else {
            throw ArchiveManifest.lie("gives partition \(p) the impossible range \(start)..<\(end)")
        }
        var parsed: [ArchivedFile] = []
        for file in files {
            guard let name = file["name"]?.stringValue, let base = file["base_offset"]?.int64Value, let bytes = file["bytes"]?.int64Value
            else {
                throw ArchiveManifest.lie("has a file of partition \(p) without name, base_offset or bytes")
            }
            guard name == ArchiveManifest.fileName(topic: topic, partition: p, baseOffset: base) else {
                throw ArchiveManifest.lie("lists file '\(name.printable)' for partition \(p) at offset \(base)")
            }
            guard base >= start && base < end && base > (parsed.last?.baseOffset ?? -1) else {
                throw ArchiveManifest.lie(
                    "places file '\(name.printable)' outside partition \(p)'s range \(start)..<\(end) or out of order")
            }
            guard bytes > 0 && bytes <= ArchiveManifest.maxFileBytes else {
                throw ArchiveManifest.lie("gives file '\(name.printable)' an impossible size of \(bytes) bytes")
            }
            parsed.append(ArchivedFile(name: name, baseOffset: base, bytes: bytes))
        }
        if let first = parsed.first, first.baseOffset != start {
            throw ArchiveManifest.lie("starts partition \(p) at \(start) but its first file at \(first.baseOffset)")
        }
        self.init(partition: p, startOffset: start, endOffset: end, files: parsed)
    }
}

public struct ArchivedFile: Sendable, Equatable {
    public var name: String
    public var baseOffset: Int64
    public var bytes: Int64
}

/// What was measured of one archived file: written to the summary by the
/// exporter, measured again and compared by every reader.
public struct FileStats: Sendable, Equatable {
    public var name: String
    public var bytes: Int64 = 0
    public var crc32c: UInt32 = 0
    public var batches: Int64 = 0
    public var records: Int64 = 0
    public var firstOffset: Int64?
    public var lastOffset: Int64?
    public var minTimestamp: Int64?
    public var maxTimestamp: Int64?
    private var crcState: UInt32 = 0xFFFF_FFFF

    public init(name: String) { self.name = name }

    init(
        name: String, bytes: Int64, crc32c: UInt32, batches: Int64, records: Int64, firstOffset: Int64?, lastOffset: Int64?,
        minTimestamp: Int64?, maxTimestamp: Int64?
    ) {
        self.name = name
        self.bytes = bytes
        self.crc32c = crc32c
        self.batches = batches
        self.records = records
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
    }

    public static func == (a: FileStats, b: FileStats) -> Bool {
        a.name == b.name && a.bytes == b.bytes && a.crc32c == b.crc32c && a.batches == b.batches && a.records == b.records
            && a.firstOffset == b.firstOffset && a.lastOffset == b.lastOffset && a.minTimestamp == b.minTimestamp
            && a.maxTimestamp == b.maxTimestamp
    }

    /// Feeds bytes of the file to the checksum.
    @inline(__always)
    mutating func checksum(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        crcState = CRC32C.update(crcState, base, count: bytes.count)
        self.bytes += Int64(bytes.count)
        crc32c = ~crcState
    }

    /// Accounts for one entry (a batch, or a legacy message: one record).
    mutating func observe(baseOffset: Int64, lastOffset: Int64, records: Int64, firstTimestamp: Int64, maxTimestamp: Int64) {
        batches += 1
        self.records += records
        if firstOffset == nil { firstOffset = baseOffset }
        self.lastOffset = lastOffset
        if firstTimestamp >= 0 { minTimestamp = min(minTimestamp ?? firstTimestamp, firstTimestamp) }
        if maxTimestamp >= 0 { self.maxTimestamp = max(self.maxTimestamp ?? maxTimestamp, maxTimestamp) }
    }

    mutating func observe(_ header: RecordBatchHeader) {
        let first = header.timestampType == .logAppendTime ? header.maxTimestamp : header.baseTimestamp
        observe(
            baseOffset: header.baseOffset, lastOffset: header.lastOffset, records: Int64(header.recordsCount),
            firstTimestamp: first, maxTimestamp: header.maxTimestamp)
    }

    var json: JSONValue {
        [
            "name": .string(name), "bytes": .int(bytes), "crc32c": .string(ArchiveSummary.hex(crc32c)), "batches": .int(batches),
            "records": .int(records), "first_offset": JSONValue(firstOffset), "last_offset": JSONValue(lastOffset),
            "min_timestamp": JSONValue(minTimestamp), "max_timestamp": JSONValue(maxTimestamp),
        ]
    }

    init(json: JSONValue) throws {
        guard let name = json["name"]?.stringValue, let bytes = json["bytes"]?.int64Value,
            let crcText = json["crc32c"]?.stringValue, let crc = UInt32(crcText, radix: 16),
            let batches = json["batches"]?.int64Value, let records = json["records"]?.int64Value
        else {
            throw ArchiveDamage("summary.json has a file without name, bytes, crc32c, batches or records")
        }
        self.init(
            name: name, bytes: bytes, crc32c: crc, batches: batches, records: records,
            firstOffset: json["first_offset"]?.int64Value, lastOffset: json["last_offset"]?.int64Value,
            minTimestamp: json["min_timestamp"]?.int64Value, maxTimestamp: json["max_timestamp"]?.int64Value)
    }
}

/// The archive's last entry: what was measured while it was written.
public struct ArchiveSummary: Sendable {
    public var archiveID: String
    public var manifestCRC32C: UInt32
    /// Per archived partition, in manifest order.
    public var partitions: [(partition: Int, files: [FileStats])]

    public var records: Int64 { partitions.reduce(0) { $0 + $1.files.reduce(0) { $0 + $1.records } } }
    public var bytes: Int64 { partitions.reduce(0) { $0 + $1.files.reduce(0) { $0 + $1.bytes } } }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    public func records(of partition: Int) -> Int64 {
        partitions.first { $0.partition == partition }?.files.reduce(0) { $0 + $1.records } ?? 0
    }

    public var json: JSONValue {
        [
            "format": .string(ArchiveManifest.format + "-summary"), "format_version": JSONValue(ArchiveManifest.formatVersion),
            "archive_id": .string(archiveID), "manifest_crc32c": .string(Self.hex(manifestCRC32C)),
            "records": .int(records), "bytes": .int(bytes),
            "partitions": .array(
                partitions.map { entry in
                    [
                        "partition": JSONValue(entry.partition), "records": .int(entry.files.reduce(0) { $0 + $1.records }),
                        "bytes": .int(entry.files.reduce(0) { $0 + $1.bytes }), "files": .array(entry.files.map(\.json)),
                    ]
                }),
        ]
    }

    public var bytesEncoded: [UInt8] { Array((json.serialized(pretty: true) + "\n").utf8) }

    static func decode(_ bytes: [UInt8]) throws -> ArchiveSummary {
        let body: JSONValue
        do {
            body = try bytes.withUnsafeBytes { try JSONValue.parse($0) }
        } catch {
            throw ArchiveDamage("summary.json is not valid JSON (\(error))")
        }
        guard body["format"]?.stringValue == ArchiveManifest.format + "-summary", let id = body["archive_id"]?.stringValue,
            let crcText = body["manifest_crc32c"]?.stringValue, let crc = UInt32(crcText, radix: 16),
            let list = body["partitions"]?.arrayValue
        else {
            throw ArchiveDamage("summary.json lacks its format, archive_id, manifest_crc32c or partitions")
        }
        var partitions: [(Int, [FileStats])] = []
        for item in list {
            guard let p = item["partition"]?.intValue, let files = item["files"]?.arrayValue else {
                throw ArchiveDamage("summary.json has a partition without partition or files")
            }
            let stats = try files.map(FileStats.init(json:))
            if item["records"]?.int64Value != stats.reduce(0, { $0 + $1.records })
                || item["bytes"]?.int64Value != stats.reduce(0, { $0 + $1.bytes })
            {
                throw ArchiveDamage("summary.json's totals for partition \(p) disagree with its files")
            }
            partitions.append((p, stats))
        }
        let summary = ArchiveSummary(archiveID: id, manifestCRC32C: crc, partitions: partitions)
        if body["records"]?.int64Value != summary.records || body["bytes"]?.int64Value != summary.bytes {
            throw ArchiveDamage("summary.json's totals disagree with its partitions")
        }
        return summary
    }
}
