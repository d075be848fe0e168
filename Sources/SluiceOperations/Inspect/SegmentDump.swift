import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem

/// `sluice dump`: what `kafka-dump-log.sh --print-data-log --deep-iteration`
/// shows, for a `.log`, `.index` or `.timeindex` file or a whole partition
/// directory. It never stops at a bad CRC (it says `isvalid: false` and goes
/// on); it stops only where the framing itself is broken.
///
/// `--json` writes one object per line: `{"type":"batch", ...fields, "records":[...]}`,
/// `{"type":"legacy_message", ...fields, "records":[...] (compressed wrappers only)}`,
/// `{"type":"problem", "position", "message"}`, `{"type":"index_entry", "offset", "position"}`
/// or `{"type":"time_index_entry", "timestamp", "offset"}` (schema version 1).
public final class SegmentDump {
    public struct Summary: Sendable {
        public var batches = 0
        public var records = 0
        public var invalid = 0
    }

    private let output: BufferedOutput
    private let json: Bool
    private let printRecords: Bool
    private let decoder = BatchDecoder()
    public private(set) var summary = Summary()

    public init(output: BufferedOutput, json: Bool, printRecords: Bool = true) {
        self.output = output
        self.json = json
        self.printRecords = printRecords
    }

    /// Dumps a file or every segment of a partition directory.
    public func dump(path: String) throws {
        switch try FileSystem.kind(of: path) {
        case .directory?:
            let segments = try Segment.list(in: path)
            guard !segments.isEmpty else {
                throw SluiceError.usage(
                    .invalidArgument, "\(path) holds no .log segments",
                    remedy: "pass a partition directory or a .log/.index/.timeindex file")
            }
            for segment in segments { try dumpLog(segment.logPath) }
        case .file?:
            if path.hasSuffix(SegmentFileName.logSuffix) {
                try dumpLog(path)
            } else if path.hasSuffix(SegmentFileName.indexSuffix) {
                try dumpOffsetIndex(path)
            } else if path.hasSuffix(SegmentFileName.timeIndexSuffix) {
                try dumpTimeIndex(path)
            } else {
                try dumpLog(path)
            }
        case nil:
            throw SluiceError.usage(.notFound, "\(path) does not exist")
        default:
            throw SluiceError.usage(.invalidArgument, "\(path) is not a file or directory")
        }
        try output.flush()
    }

    private func line(_ text: String) throws {
        output.buffer.append(text)
        output.buffer.append(0x0A)
        try output.flushIfFull()
    }

    private func dumpLog(_ path: String) throws {
        let file = try File.open(path)
        let size = try file.size()
        let base = SegmentFileName.baseOffset(of: FileSystem.lastComponent(of: path), suffix: SegmentFileName.logSuffix)
        if !json { try line("Dumping \(path)\nLog starting offset: \(base.map(String.init) ?? "unknown")") }
        let scanner = SegmentScanner(file: file, limit: size, from: 0, buffer: ByteBuffer(capacity: 1 << 20), validateChecksums: false)
        while true {
            switch try scanner.next() {
            case .batch(let batch):
                try dumpBatch(batch)
            case .legacy(let legacy):
                try dumpLegacy(legacy.position, legacy.message, legacy.bytes)
            case .problem(let problem):
                summary.invalid += 1
                try report(problem)
                if scanner.skipInvalidEntry() { continue }
                return
            case .end:
                return
            }
        }
    }

    private func report(_ problem: ScanProblem) throws {
        if json {
            try line(
                JSONValue.object([("type", "problem"), ("position", .int(problem.position)), ("message", .string(problem.description))])
                    .serialized())
        } else {
            try line("problem: \(problem)")
        }
    }

    private func dumpBatch(_ batch: ScannedBatch) throws {
        let h = batch.header
        summary.batches += 1
        var valid = true
        var problem: String?
        do { try h.validate(batch.bytes) } catch { valid = false; problem = "\(error)"; summary.invalid += 1 }
        let timeLabel = h.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"
        let lastSequence = h.baseSequence < 0 ? -1 : Int64(h.baseSequence) + Int64(h.lastOffsetDelta)
        let records = ByteBuffer(capacity: 1024)
        var recordLines: [String] = []
        var recordError: String?
        if printRecords {
            do {
                var iterator = try decoder.records(of: batch.bytes, header: h)
                while let record = try iterator.next() {
                    summary.records += 1
                    let sequence = h.baseSequence < 0 ? -1 : Int64(h.baseSequence) + (record.offset - h.baseOffset)
                    if json {
                        appendRecordJSON(record, sequence, to: records)
                    } else {
                        recordLines.append(recordText(record, timeLabel, sequence))
                    }
                }
            } catch {
                recordError = "\(error)"
            }
        }
        if json {
            var fields: [(String, JSONValue)] = [
                ("type", "batch"), ("position", .int(batch.position)), ("base_offset", .int(h.baseOffset)),
                ("last_offset", .int(h.lastOffset)),
                ("count", .int(Int64(h.recordsCount))), ("size", .int(Int64(h.totalSize))), ("magic", .int(Int64(h.magic))),
                ("crc", .int(Int64(h.crc))), ("is_valid", .bool(valid)), ("compression", .string(h.compression?.name ?? "invalid")),
                ("timestamp_type", .string(timeLabel)), ("base_timestamp", .int(h.baseTimestamp)), ("max_timestamp", .int(h.maxTimestamp)),
                ("producer_id", .int(h.producerId)), ("producer_epoch", .int(Int64(h.producerEpoch))),
                ("base_sequence", .int(Int64(h.baseSequence))),
                ("partition_leader_epoch", .int(Int64(h.partitionLeaderEpoch))), ("is_transactional", .bool(h.isTransactional)),
                ("is_control", .bool(h.isControl)),
            ]
            if let problem { fields.append(("problem", .string(problem))) }
            if let recordError { fields.append(("record_problem", .string(recordError))) }
            var text = JSONValue.object(fields).serialized()
            if printRecords {
                text.removeLast()
                text += ",\"records\":[" + String(decoding: records.bytes, as: UTF8.self) + "]}"
            }
            try line(text)
            return
        }
        try line(
            """
            baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordsCount) baseSequence: \
            \(h.baseSequence) lastSequence: \(lastSequence) producerId: \(h.producerId) producerEpoch: \(h.producerEpoch) \
            partitionLeaderEpoch: \(h.partitionLeaderEpoch) isTransactional: \(h.isTransactional) isControl: \(h.isControl) \
            deleteHorizonMs: \(h.hasDeleteHorizon ? String(h.baseTimestamp) : "OptionalLong.empty") position: \
            \(batch.position) \(timeLabel): \(h.maxTimestamp) size: \(h.totalSize) magic: \(h.magic) compresscodec: \
            \(h.compression?.name ?? "invalid") crc: \(h.crc) isvalid: \(valid)\(problem.map { " (\($0))" } ?? "")
            """
        )
        for text in recordLines { try line(text) }
        if let recordError { try line("| problem: \(recordError)") }
    }

    private func recordText(_ record: Record, _ timeLabel: String, _ sequence: Int64) -> String {
        let headerKeys = record.headers.map { Self.text($0.key) }.joined(separator: ",")
        return
            """
            | offset: \(record.offset) \(timeLabel): \(record.timestamp) keySize: \(record.key?.count ?? -1) \
            valueSize: \(record.value?.count ?? -1) sequence: \(sequence) headerKeys: [\(headerKeys)] key: \
            \(record.key.map(Self.text) ?? "null") payload: \(record.value.map(Self.text) ?? "null")
            """
    }

    private func appendRecordJSON(_ record: Record, _ sequence: Int64, to out: ByteBuffer) {
        if !out.isEmpty { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "{"))
        RecordFormatter.appendJSONFields(record, to: out)
        out.append(ascii: ",\"sequence\":")
        JSONText.appendInteger(sequence, to: out)
        out.append(UInt8(ascii: "}"))
    }

    /// A legacy message; a compressed wrapper is followed by its inner
    /// messages, as records with absolute offsets (`records` in JSON).
    private func dumpLegacy(_ position: Int64, _ message: LegacyMessage, _ bytes: UnsafeRawBufferPointer) throws {
        summary.batches += 1
        let isWrapper = message.compression != .none
        if !isWrapper { summary.records += 1 }
        let timeLabel = message.magic == 0 ? "NoTimestampType" : message.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"
        let records = ByteBuffer(capacity: 1024)
        var recordLines: [String] = []
        var recordError: String?
        if isWrapper && printRecords {
            do {
                for inner in try decoder.messages(of: message) {
                    summary.records += 1
                    if json {
                        appendRecordJSON(inner.record, -1, to: records)
                    } else {
                        recordLines.append(recordText(inner.record, timeLabel, -1))
                    }
                }
            } catch {
                recordError = "\(error)"
            }
        }
        if json {
            var fields: [(String, JSONValue)] = [
                ("type", "legacy_message"), ("position", .int(position)), ("offset", .int(message.offset)),
                ("magic", .int(Int64(message.magic))),
                ("crc", .int(Int64(message.crc))), ("compression", .string(message.compression.name)),
                ("timestamp", JSONValue(message.timestamp)), ("key", JSONValue(message.key.map(Self.text))),
                ("value", JSONValue(message.value.map(Self.text))),
            ]
            if let recordError { fields.append(("record_problem", .string(recordError))) }
            var text = JSONValue.object(fields).serialized()
            if isWrapper && printRecords {
                text.removeLast()
                text += ",\"records\":[" + String(decoding: records.bytes, as: UTF8.self) + "]}"
            }
            try line(text)
            return
        }
        try line(
            """
            offset: \(message.offset) position: \(position) \
            \(message.magic == 1 ? "\(timeLabel): \(message.timestamp ?? -1) " : "")isvalid: true size: \
            \(bytes.count) magic: \(message.magic) compresscodec: \(message.compression.name) crc: \
            \(message.crc) keySize: \(message.key?.count ?? -1) valueSize: \(message.value?.count ?? -1) \
            key: \(message.key.map(Self.text) ?? "null") payload: \(message.value.map(Self.text) ?? "null")
            """
        )
        for text in recordLines { try line(text) }
        if let recordError { try line("| problem: \(recordError)") }
    }

    private func dumpOffsetIndex(_ path: String) throws {
        let base = SegmentFileName.baseOffset(of: FileSystem.lastComponent(of: path), suffix: SegmentFileName.indexSuffix) ?? 0
        guard let index = try OffsetIndexFile.open(path) else { return }
        if !json { try line("Dumping \(path)") }
        for entry in try index.readAll() {
            let offset = base + Int64(entry.relativeOffset)
            try line(
                json
                    ? JSONValue.object([("type", "index_entry"), ("offset", .int(offset)), ("position", .int(Int64(entry.position)))])
                        .serialized()
                    : "offset: \(offset) position: \(entry.position)")
        }
    }

    private func dumpTimeIndex(_ path: String) throws {
        let base = SegmentFileName.baseOffset(of: FileSystem.lastComponent(of: path), suffix: SegmentFileName.timeIndexSuffix) ?? 0
        guard let index = try TimeIndexFile.open(path) else { return }
        if !json { try line("Dumping \(path)") }
        for entry in try index.readAll() {
            let offset = base + Int64(entry.relativeOffset)
            try line(
                json
                    ? JSONValue.object([("type", "time_index_entry"), ("timestamp", .int(entry.timestamp)), ("offset", .int(offset))])
                        .serialized()
                    : "timestamp: \(entry.timestamp) offset: \(offset)")
        }
    }

    /// Bytes as text when they are printable UTF-8, else `base64:...`.
    static func text(_ bytes: UnsafeRawBufferPointer) -> String {
        if UTF8Validation.isValid(bytes), !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return "base64:" + Base64.encode(Array(bytes))
    }
}
