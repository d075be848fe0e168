import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore

extension CommitAnnotations {
    static let opHeader = "sluice.op", opIDHeader = "sluice.op-id", memberHeader = "sluice.member"
    static let previousHeader = "sluice.previous-offset", logEndHeader = "sluice.log-end", detailHeader = "sluice.detail"

    /// Appends the headers (entries, without the count) and returns how many.
    func encode(to out: ByteBuffer) -> Int {
        var entries: [(String, String)] = [(Self.opHeader, operation.rawValue)]
        if let operationID { entries.append((Self.opIDHeader, operationID)) }
        if let member { entries.append((Self.memberHeader, member)) }
        if let previousOffset { entries.append((Self.previousHeader, String(previousOffset))) }
        if let logEndOffset { entries.append((Self.logEndHeader, String(logEndOffset))) }
        if let detail { entries.append((Self.detailHeader, detail)) }
        for (key, value) in entries { HeaderEncoding.appendEntry(key: key, value: value, to: out) }
        return entries.count
    }

    /// Reads the annotations of a record; unknown headers are ignored.
    static func decode(_ headers: RecordHeaders, isTombstone: Bool) -> CommitAnnotations {
        var annotations = CommitAnnotations(operation: isTombstone ? .delete : .commit)
        for header in headers {
            guard let raw = header.value, UTF8Validation.isValid(raw) else { continue }
            let value = String(decoding: raw, as: UTF8.self)
            switch String(decoding: header.key, as: UTF8.self) {
            case opHeader: if let op = CommitOperation(rawValue: value) { annotations.operation = op }
            case opIDHeader: annotations.operationID = value
            case memberHeader: annotations.member = value
            case previousHeader: annotations.previousOffset = Int64(value)
            case logEndHeader: annotations.logEndOffset = Int64(value)
            case detailHeader: annotations.detail = value
            default: break
            }
        }
        return annotations
    }
}

/// Encodes one change as one record batch: the unit that is all-or-nothing
/// on disk. Records are (group, change) pairs; a commit holds one group's,
/// history retention may carry several groups' in one batch.
enum CommitBatch {
    /// Metadata strings are limited so every record stays small.
    static let maxMetadataBytes = 4096

    static func encode(_ records: [(group: String, change: OffsetChange)], annotations: CommitAnnotations, now: Int64) throws -> ByteBuffer
    {
        precondition(!records.isEmpty, "a commit changes at least one partition")
        let builder = RecordBatchBuilder()
        let key = ByteBuffer(capacity: 256), value = ByteBuffer(capacity: 256), headers = ByteBuffer(capacity: 256)
        for (group, change) in records {
            key.clear()
            value.clear()
            headers.clear()
            OffsetCommitKey(group: group, topic: change.topicPartition.topic, partition: Int32(change.topicPartition.partition)).encode(
                to: key)
            if let offset = change.offset {
                OffsetCommitValue(offset: offset, metadata: change.metadata, commitTimestamp: change.commitTimestamp ?? now).encode(
                    to: value)
            }
            var annotated = annotations
            annotated.previousOffset = change.previousOffset
            annotated.logEndOffset = change.logEndOffset
            let count = annotated.encode(to: headers)
            builder.append(
                timestamp: now, key: key.bytes, value: change.offset == nil ? nil : value.bytes,
                headerCount: count, encodedHeaders: headers.bytes)
        }
        let out = ByteBuffer(capacity: 1024)
        try builder.finish(baseOffset: 0, into: out)
        return out
    }

    static func validateMetadata(_ metadata: String) throws {
        guard metadata.utf8.count <= maxMetadataBytes else {
            throw SluiceError.usage(
                .invalidArgument, "commit metadata is \(metadata.utf8.count) bytes; at most \(maxMetadataBytes) are allowed")
        }
    }
}

/// A random id for one change (16 hex digits).
func newOperationID() -> String {
    GroupName.hex(UInt64.random(in: 0...UInt64.max), digits: 16).lowercased()
}
