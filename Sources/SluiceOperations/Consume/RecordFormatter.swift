import KafkaFormat
import SluiceCore

/// Renders records for `consume`: value lines (the default), a kcat-style
/// format string, or JSON lines. Appends into a caller's buffer, allocating
/// nothing per record.
public struct RecordFormatter: Sendable {
    public enum Style: Sendable {
        /// Each value followed by a newline (a null value is an empty line).
        case valueLines
        /// A kcat-style format string (no newline is added; put `\n` in it).
        case pattern([Token])
        /// One JSON object per line; see `appendJSON` for the schema.
        case json
    }

    public enum Token: Sendable, Equatable {
        case literal([UInt8])
        case topic, partition, offset, key, value, timestamp, headers, keyLength, valueLength
    }

    public let style: Style

    public init(_ style: Style) { self.style = style }

    public static let formatHelp =
        """
        %t topic, %p partition, %o offset, %k key, %v (or %s) value, %T timestamp (ms), %h headers \
        (k=v,...), %K key length, %S value length, %% a percent sign; \\n \\t \\r \\\\ escapes
        """

    /// Parses a kcat-style format string.
    public static func parsePattern(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        var literal: [UInt8] = []
        var bytes = Array(text.utf8).makeIterator()
        func flush() { if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] } }
        while let c = bytes.next() {
            switch c {
            case UInt8(ascii: "%"):
                guard let d = bytes.next() else { throw badFormat(text, "it ends with a lone '%'") }
                let token: Token?
                switch d {
                case UInt8(ascii: "t"): token = .topic
                case UInt8(ascii: "p"): token = .partition
                case UInt8(ascii: "o"): token = .offset
                case UInt8(ascii: "k"): token = .key
                case UInt8(ascii: "v"), UInt8(ascii: "s"): token = .value
                case UInt8(ascii: "T"): token = .timestamp
                case UInt8(ascii: "h"): token = .headers
                case UInt8(ascii: "K"): token = .keyLength
                case UInt8(ascii: "S"): token = .valueLength
                case UInt8(ascii: "%"): literal.append(d); token = nil
                default: throw badFormat(text, "unknown directive '%\(Character(Unicode.Scalar(d)))'")
                }
                if let token { flush(); tokens.append(token) }
            case UInt8(ascii: "\\"):
                guard let d = bytes.next() else { literal.append(c); break }
                switch d {
                case UInt8(ascii: "n"): literal.append(0x0A)
                case UInt8(ascii: "t"): literal.append(0x09)
                case UInt8(ascii: "r"): literal.append(0x0D)
                case UInt8(ascii: "0"): literal.append(0)
                case UInt8(ascii: "\\"): literal.append(c)
                default: literal.append(c); literal.append(d)
                }
            default:
                literal.append(c)
            }
        }
        flush()
        return tokens
    }

    private static func badFormat(_ text: String, _ why: String) -> SluiceError {
        .usage(.invalidArgument, "invalid --format '\(text.printable)': \(why)", remedy: formatHelp)
    }

    @inline(__always)
    public func append(_ record: Record, topic: String, partition: Int, to out: ByteBuffer) {
        switch style {
        case .valueLines:
            if let value = record.value { out.append(value) }
            out.append(0x0A)
        case .pattern(let tokens):
            appendPattern(tokens, record, topic, partition, out)
        case .json:
            Self.appendJSON(record, topic: topic, partition: partition, to: out)
        }
    }

    private func appendPattern(_ tokens: [Token], _ record: Record, _ topic: String, _ partition: Int, _ out: ByteBuffer) {
        for token in tokens {
            switch token {
            case .literal(let bytes): out.append(bytes)
            case .topic: out.append(topic)
            case .partition: JSONText.appendInteger(Int64(partition), to: out)
            case .offset: JSONText.appendInteger(record.offset, to: out)
            case .key: if let key = record.key { out.append(key) }
            case .value: if let value = record.value { out.append(value) }
            case .timestamp: JSONText.appendInteger(record.timestamp, to: out)
            case .keyLength: JSONText.appendInteger(Int64(record.key?.count ?? -1), to: out)
            case .valueLength: JSONText.appendInteger(Int64(record.value?.count ?? -1), to: out)
            case .headers:
                var first = true
                for header in record.headers {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(header.key)
                    out.append(UInt8(ascii: "="))
                    if let value = header.value { out.append(value) }
                }
            }
        }
    }

    /// `consume --json` schema, version 1 — one object per line:
    /// `{"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}`.
    /// Bytes that are not valid UTF-8 appear base64-encoded under `key_base64`,
    /// `value_base64` or a header's `value_base64` instead; null stays null.
    public static func appendJSON(_ record: Record, topic: String, partition: Int, to out: ByteBuffer) {
        out.append(ascii: "{\"topic\":")
        JSONText.appendString(topic, to: out)
        out.append(ascii: ",\"partition\":")
        JSONText.appendInteger(Int64(partition), to: out)
        out.append(UInt8(ascii: ","))
        appendJSONFields(record, to: out)
        out.append(ascii: "}\n")
    }

    /// The record's members without braces: `"offset":..,"timestamp":..,"key":..,"value":..,"headers":[..]`.
    public static func appendJSONFields(_ record: Record, to out: ByteBuffer) {
        out.append(ascii: "\"offset\":")
        JSONText.appendInteger(record.offset, to: out)
        out.append(ascii: ",\"timestamp\":")
        JSONText.appendInteger(record.timestamp, to: out)
        appendBytesField("key", record.key, to: out)
        appendBytesField("value", record.value, to: out)
        out.append(ascii: ",\"headers\":[")
        var first = true
        for header in record.headers {
            out.append(ascii: first ? "{\"key\":" : ",{\"key\":")
            first = false
            if UTF8Validation.isValid(header.key) {
                JSONText.appendString(bytes: header.key, to: out)
            } else {
                out.append(UInt8(ascii: "\""))
                Base64.encode(header.key, to: out)
                out.append(UInt8(ascii: "\""))
            }
            appendBytesField("value", header.value, to: out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    @inline(__always)
    static func appendBytesField(_ name: StaticString, _ bytes: UnsafeRawBufferPointer?, to out: ByteBuffer) {
        out.append(ascii: ",\"")
        out.append(ascii: name)
        guard let bytes else {
            out.append(ascii: "\":null")
            return
        }
        if JSONText.plainASCIIPrefix(bytes) == bytes.count || UTF8Validation.isValid(bytes) {
            out.append(ascii: "\":")
            JSONText.appendString(bytes: bytes, to: out)
        } else {
            out.append(ascii: "_base64\":\"")
            Base64.encode(bytes, to: out)
            out.append(UInt8(ascii: "\""))
        }
    }
}
