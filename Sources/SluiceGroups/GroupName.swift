import SluiceCore
import SluiceStorage
import SluiceStore

/// Consumer group names. Kafka allows almost any string; sluice refuses only
/// what cannot be shown on one line or stored in Kafka's int16-length string:
/// empty names, control characters and names over 249 UTF-8 bytes.
///
/// Names reach the file system only through `fileName`, which can never
/// contain '/', start with '.', or exceed a file name's length, so no group
/// name escapes the data directory.
public enum GroupName {
    public static let maxLength = 249

    public static func validate(_ name: String) throws {
        guard !name.isEmpty else { throw invalid(name, "it is empty") }
        guard name.utf8.count <= maxLength else { throw invalid(name, "it is longer than \(maxLength) bytes") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw invalid(name, "it contains control characters")
        }
    }

    /// The name as one file-name component: ASCII letters, digits, '_' and '-'
    /// as they are, '.' except first, every other byte as %XX. Names whose
    /// encoding exceeds 200 bytes keep a prefix plus a 64-bit hash of the name.
    public static func fileName(_ name: String) -> String {
        var out = ""
        for (i, byte) in name.utf8.enumerated() {
            let keep =
                (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                || byte == 95 || byte == 45 || (byte == 46 && i > 0)
            if keep {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hex(UInt64(byte), digits: 2)
            }
        }
        guard out.utf8.count > 200 else { return out }
        return String(out.prefix(160)) + "~" + hex(fnv1a(name), digits: 16)
    }

    private static func fnv1a(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    private static func invalid(_ name: String, _ why: String) -> SluiceError {
        .usage(.invalidName, "invalid group name '\(name.printable)': \(why)")
    }
}
