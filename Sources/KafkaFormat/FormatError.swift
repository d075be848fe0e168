/// What is wrong with bytes that claim to be Kafka's format. Decoders throw
/// these without context; the storage layer adds topic, partition, file,
/// position and offset before anything reaches a user.
public enum FormatError: Error, Equatable, CustomStringConvertible, Sendable {
    case truncated(String)
    case invalid(String)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// A codec value Kafka does not define (5–7; the attribute's low three bits).
    case unsupportedCompression(Int16)
    case unsupportedMagic(Int8)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated \(what)"
        case .invalid(let what): return what
        case .checksumMismatch(let stored, let computed):
            return "CRC mismatch (stored 0x\(hex(stored)), computed 0x\(hex(computed)))"
        case .unsupportedCompression(let codec):
            return "invalid compression codec \(codec) (Kafka defines 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)"
        case .unsupportedMagic(let magic): return "unsupported message format (magic \(magic))"
        }
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
