import KafkaFormat
import SluiceCore
import SluiceSystem

/// sluice's own small metadata files (topic configs, checkpoints): one header
/// line naming the kind, the format version and a CRC-32C of the body, then a
/// JSON body. A flipped bit anywhere is detected, where bare JSON might still
/// parse (a '3' and a '7' differ by one bit).
///
///     sluice-topic 1 crc32c=1a2b3c4d
///     {"name":"orders","partitions":3,...}
public enum ChecksummedDocument {
    public static func encode(kind: String, version: Int, body: JSONValue) -> [UInt8] {
        let json = Array((body.serialized(pretty: true) + "\n").utf8)
        let crc = String(CRC32C.checksum(json), radix: 16)
        let header = "sluice-\(kind) \(version) crc32c=\(String(repeating: "0", count: 8 - crc.count))\(crc)\n"
        return Array(header.utf8) + json
    }

    /// Decodes and checks a document; `what` names it in errors.
    public static func decode(_ bytes: [UInt8], kind: String, maxVersion: Int, what: String) throws -> (version: Int, body: JSONValue) {
        guard let newline = bytes.firstIndex(of: 0x0A) else { throw corrupt(what, "it has no header line") }
        let header = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ")
        guard header.count == 3, header[0] == "sluice-\(kind)", let version = Int(header[1]),
            header[2].hasPrefix("crc32c="), let stored = UInt32(header[2].dropFirst(7), radix: 16)
        else {
            throw corrupt(what, "its header line is not 'sluice-\(kind) VERSION crc32c=XXXXXXXX'")
        }
        let body = Array(bytes[(newline + 1)...])
        let computed = CRC32C.checksum(body)
        guard computed == stored else { throw corrupt(what, "checksum mismatch (the file is damaged)") }
        guard version >= 1, version <= maxVersion else {
            throw SluiceError.failure(
                .unsupportedVersion, "\(what) has format version \(version); this sluice reads up to \(maxVersion)",
                remedy: "use a newer sluice")
        }
        do {
            return (version, try body.withUnsafeBytes { try JSONValue.parse($0) })
        } catch {
            throw corrupt(what, "\(error)")
        }
    }

    static func corrupt(_ what: String, _ why: String) -> SluiceError {
        .failure(.corruptMetadata, "\(what) is corrupt: \(why)", remedy: "restore it from a backup or an export")
    }
}

extension SluiceError.Reason {
    public static let corruptMetadata = Self("corrupt-metadata")
    public static let unsupportedVersion = Self("unsupported-version")
}
