#if canImport(Glibc)
import Glibc
#endif

/// A JSON document with ordered object members.
///
/// sluice's `--json` outputs are documented, versioned schemas; keeping member
/// order makes them stable and diffable. Integers stay `Int64` end to end because
/// offsets and timestamps do not fit a `Double` in general.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var int64Value: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d) where d == d.rounded() && abs(d) < 9.007e15: return Int64(d)
        default: return nil
        }
    }

    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    public var doubleValue: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}

extension JSONValue {
    public init(_ value: Int) { self = .int(Int64(value)) }
    public init(_ value: Int64?) { self = value.map { .int($0) } ?? .null }
    public init(_ value: String?) { self = value.map { .string($0) } ?? .null }
}

// MARK: - Serialization

extension JSONValue {
    /// Serializes compactly (one line) or pretty-printed with two-space indents.
    public func serialized(pretty: Bool = false) -> String {
        let out = ByteBuffer(capacity: 256)
        write(to: out, pretty: pretty, indent: 0)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    public func write(to out: ByteBuffer, pretty: Bool = false, indent: Int = 0) {
        switch self {
        case .null: out.append(ascii: "null")
        case .bool(let b): b ? out.append(ascii: "true") : out.append(ascii: "false")
        case .int(let v): JSONText.appendInteger(v, to: out)
        case .double(let d):
            if d.isFinite {
                out.append(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d))
            } else {
                out.append(ascii: "null")
            }
        case .string(let s): JSONText.appendString(s, to: out)
        case .array(let items):
            if items.isEmpty { out.append(ascii: "[]"); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(out, pretty, indent + 1)
                item.write(to: out, pretty: pretty, indent: indent + 1)
            }
            newline(out, pretty, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out.append(ascii: "{}"); return }
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(out, pretty, indent + 1)
                JSONText.appendString(key, to: out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                value.write(to: out, pretty: pretty, indent: indent + 1)
            }
            newline(out, pretty, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(_ out: ByteBuffer, _ pretty: Bool, _ indent: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<indent { out.append(ascii: "  ") }
    }
}

/// Low-level JSON text helpers shared by the tree serializer and the streaming
/// record formatters on hot paths.
public enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public static func appendString(_ s: String, to out: ByteBuffer) {
        var s = s
        s.withUTF8 { appendString(bytes: UnsafeRawBufferPointer($0), to: out) }
    }

    /// Length of the leading run of bytes that need no escaping and are ASCII,
    /// checked eight bytes at a time (SWAR): no byte ≥ 0x80, < 0x20, '"' or '\\'.
    @inline(__always)
    public static func plainASCIIPrefix(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let n = bytes.count
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        while i + 8 <= n {
            let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let special =
                v & highs != 0 || (v &- ones &* 0x20) & ~v & highs != 0
                || hasZeroByte(v ^ (ones &* 0x22)) || hasZeroByte(v ^ (ones &* 0x5C))
            if special { break }
            i += 8
        }
        while i < n {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c >= 0x80 || c < 0x20 || c == 0x22 || c == 0x5C { break }
            i += 1
        }
        return i
    }

    /// Appends `bytes` (valid UTF-8) as a quoted JSON string with escapes:
    /// runs that need none are found eight bytes at a time and copied whole.
    @inline(__always)
    public static func appendString(bytes: UnsafeRawBufferPointer, to out: ByteBuffer) {
        out.reserve(bytes.count + 2)
        out.append(UInt8(ascii: "\""))
        var i = 0
        while i < bytes.count {
            let run = plainASCIIPrefix(UnsafeRawBufferPointer(rebasing: bytes[i...]))
            if run > 0 { out.append(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + run)])) }
            i += run
            guard i < bytes.count else { break }
            appendSpecial(bytes[i], to: out)
            i += 1
        }
        out.append(UInt8(ascii: "\""))
    }

    /// One byte that `plainASCIIPrefix` stops at: an escape, or a UTF-8 byte copied as is.
    @inline(__always)
    private static func appendSpecial(_ c: UInt8, to out: ByteBuffer) {
        switch c {
        case UInt8(ascii: "\""): out.append(ascii: "\\\"")
        case UInt8(ascii: "\\"): out.append(ascii: "\\\\")
        case 0x0A: out.append(ascii: "\\n")
        case 0x0D: out.append(ascii: "\\r")
        case 0x09: out.append(ascii: "\\t")
        case 0x80...: out.append(c)
        default:
            out.append(ascii: "\\u00")
            out.append(hex[Int(c >> 4)])
            out.append(hex[Int(c & 15)])
        }
    }

    @inline(__always)
    public static func appendInteger(_ value: Int64, to out: ByteBuffer) {
        out.reserve(20)
        out.count += formatDecimal(value, into: out.base + out.count)
    }

    /// Writes `value` in decimal at `p` and returns the number of bytes written (at most 20).
    @inline(__always)
    public static func formatDecimal(_ value: Int64, into p: UnsafeMutableRawPointer) -> Int {
        var n = value.magnitude
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &tmp) { scratch in
            var i = 24
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: n % 10) + 48
                n /= 10
            } while n > 0
            var len = 0
            if value < 0 { p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self); len = 1 }
            (p + len).copyMemory(from: scratch.baseAddress! + i, byteCount: 24 - i)
            return len + 24 - i
        }
    }
}

// MARK: - Parsing

extension JSONValue {
    /// Parses one JSON document; trailing white space is allowed, anything else is not.
    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(bytes)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.error("unexpected text after the JSON value") }
        return value
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes, with a depth limit so
/// hostile input cannot exhaust the stack.
public struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    public private(set) var index = 0
    static let maxDepth = 64

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var atEnd: Bool { index >= bytes.count }

    func error(_ what: String) -> SluiceError {
        .failure(.malformedJSON, "malformed JSON at byte \(index): \(what)")
    }

    public mutating func skipWhitespace() {
        while index < bytes.count {
            let c = bytes[index]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            index += 1
        }
    }

    /// The next non-space byte, not consumed; nil at the end.
    public mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// Consumes `byte` (after white space) if it is next.
    public mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Consumes `byte` (after white space) or fails naming what was expected.
    public mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard consume(byte) else { throw error("expected \(what)") }
    }

    public mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(String, JSONValue)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        default:
            return try parseNumber()
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let n = literal.utf8CodeUnitCount
        guard index + n <= bytes.count,
            memcmp(bytes.baseAddress! + index, literal.utf8Start, n) == 0
        else { throw error("invalid literal") }
        index += n
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        while index < bytes.count {
            let c = bytes[index]
            if c >= 48 && c <= 57 { index += 1; continue }
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: "-")
            {
                isInteger = false
                index += 1
                continue
            }
            break
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard !text.isEmpty, text != "-" else { throw error("expected a value") }
        if isInteger, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw error("invalid number '\(text)'") }
        return .double(d)
    }

    /// Parses a quoted string at `index` (which must be a quote) into a Swift string.
    public mutating func parseString() throws -> String {
        let out = ByteBuffer(capacity: 64)
        try parseString(into: out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// Parses a quoted string at `index`, appending its unescaped UTF-8 bytes to `out`.
    public mutating func parseString(into out: ByteBuffer) throws {
        index += 1
        var runStart = index
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                return
            }
            if c < 0x20 { throw error("control character in string") }
            if c != UInt8(ascii: "\\") { index += 1; continue }
            out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired surrogate")
                }
                appendUTF8(scalar, to: out)
            default: throw error("invalid escape")
            }
            runStart = index
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    private func appendUTF8(_ scalar: UInt32, to out: ByteBuffer) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

extension SluiceError.Reason {
    public static let malformedJSON = Self("malformed-json")
}
