import KafkaFormat
import SluiceCore

/// Adds the provenance header to every record of an uncompressed batch
/// without decoding keys or values: each record's bytes are copied as they
/// are, and only its length and header count are rewritten, with the header
/// appended after its own. Offset and timestamp deltas, attributes and
/// producer fields stay, so the batch keeps its offsets one to one; the
/// length and CRC are recomputed. About twice as fast as decoding and
/// re-encoding every record, which the other cases (compressed or cut batches, the key strategy) do.
enum ProvenanceSplice {
    /// Appends the spliced copy of `batch` (a complete, CRC-checked,
    /// uncompressed batch) to `out`. A record whose layout is impossible
    /// throws, as decoding it would.
    static func append(
        _ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, provenance: ProvenanceHeader, scratch: ByteBuffer,
        to out: ByteBuffer
    ) throws(FormatError) {
        let start = out.count
        out.append(UnsafeRawBufferPointer(rebasing: batch[..<RecordBatchHeader.size]))
        var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size...]))
        for _ in 0..<header.recordsCount {
            let length = try cursor.readVarint()
            let record = try cursor.readBytes(Int(length), "record")
            var body = ByteCursor(record)
            _ = try body.readBigEndian(Int8.self, "record attributes")
            _ = try body.readVarlong()
            let offsetDelta = try body.readVarint()
            let keyLength = try body.readVarint()
            if keyLength > 0 { try body.skip(Int(keyLength), "record key") }
            let valueLength = try body.readVarint()
            if valueLength > 0 { try body.skip(Int(valueLength), "record value") }
            let countStart = body.position
            let headerCount = try body.readVarint()
            guard headerCount >= 0 else { throw .invalid("impossible header count \(headerCount)") }
            let headersStart = body.position
            for _ in 0..<headerCount {
                let keyLength = try body.readVarint()
                guard keyLength >= 0 else { throw .invalid("null header key") }
                try body.skip(Int(keyLength), "header key")
                let valueLength = try body.readVarint()
                if valueLength > 0 { try body.skip(Int(valueLength), "header value") }
            }
            guard body.isAtEnd else { throw .invalid("record length \(length) does not match its contents") }
            scratch.clear()
            provenance.append(offset: header.baseOffset + Int64(offsetDelta), to: scratch)
            let prefix = countStart - record.baseAddress!
            let headers = record.count - (headersStart - record.baseAddress!)
            let newLength = prefix + Varint.size(signed: headerCount + 1) + headers + scratch.count
            out.appendVarint(Int32(newLength))
            out.append(record.baseAddress!, count: prefix)
            out.appendVarint(headerCount + 1)
            out.append(headersStart, count: headers)
            out.append(scratch.bytes)
        }
        guard cursor.isAtEnd else { throw .invalid("\(cursor.remaining) bytes remain after the declared records") }
        let spliced = out.base + start
        spliced.storeBigEndian(Int32(out.count - start - RecordBatchHeader.logOverhead), at: 8)
        spliced.storeBigEndian(
            CRC32C.checksum(spliced + RecordBatchHeader.attributesOffset, count: out.count - start - RecordBatchHeader.attributesOffset),
            at: RecordBatchHeader.crcOffset)
    }
}
