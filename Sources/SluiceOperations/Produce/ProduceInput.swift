import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Feeds text input to a `TopicWriter` (a data directory's or a cluster's):
/// one record per line, optionally
/// `KEY<separator>VALUE` (kcat's -K: a line without the separator has a null
/// key), or one JSON object per line (`--json`), the shape `consume --json`
/// writes, so consumed records produce back losslessly.
public enum ProduceInput {
    /// Headers every record of a run gets (kcat's `-H name=value`), encoded once.
    public struct FixedHeaders {
        public let count: Int
        let encoded = ByteBuffer(capacity: 256)

        /// `NAME=VALUE` each; the value may be empty, the name may not.
        public init(parsing values: [String]) throws {
            count = values.count
            for text in values {
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw SluiceError.usage(
                        .invalidArgument, "malformed --header '\(text.printable)'", remedy: "write NAME=VALUE, e.g. -H source=backfill")
                }
                HeaderEncoding.appendEntry(key: String(text[..<equals]), value: String(text[text.index(after: equals)...]), to: encoded)
            }
        }
    }

    /// Produces every line of `reader`; returns the number of records.
    /// Specialized for the local producer, so its per-record calls are direct.
    @_specialize(exported:true,where Writer == TopicProducer)
    public static func lines<Writer: TopicWriter>(
        _ reader: LineReader, into producer: Writer, keySeparator: [UInt8]?,
        partition: Int?, headers: FixedHeaders? = nil
    ) throws {
        var timestamp = WallClock.nowMillis()
        var sinceClock = 0
        while let line = try reader.next() {
            sinceClock += 1
            if sinceClock == 256 { timestamp = WallClock.nowMillis(); sinceClock = 0 }
            var key: UnsafeRawBufferPointer?
            var value = line
            if let keySeparator, let split = find(keySeparator, in: line) {
                key = UnsafeRawBufferPointer(rebasing: line[..<split])
                value = UnsafeRawBufferPointer(rebasing: line[(split + keySeparator.count)...])
            }
            let target = try producer.choosePartition(explicit: partition, key: key)
            try producer.send(
                partition: target, timestamp: timestamp, key: key, value: value,
                headerCount: headers?.count ?? 0, encodedHeaders: headers?.encoded.bytes)
        }
    }

    /// Produces one JSON object per line (blank lines are skipped).
    @_specialize(exported:true,where Writer == TopicProducer)
    public static func json<Writer: TopicWriter>(_ reader: LineReader, into producer: Writer, partition: Int?) throws {
        let parsed = JSONRecord()
        while let line = try reader.next() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                try parsed.parse(line, now: WallClock.nowMillis())
            } catch let error as SluiceError {
                throw SluiceError.usage(
                    .invalidInput, "line \(reader.lineNumber) of the input: \(error.message)", remedy: JSONRecord.schemaHelp)
            }
            let key = parsed.hasKey ? parsed.key.bytes : nil
            let target = try producer.choosePartition(explicit: partition ?? parsed.partition, key: key)
            try producer.send(
                partition: target, timestamp: parsed.timestamp, key: key,
                value: parsed.hasValue ? parsed.value.bytes : nil,
                headerCount: parsed.headerCount, encodedHeaders: parsed.headers.bytes)
        }
    }

    @inline(__always)
    static func find(_ separator: [UInt8], in line: UnsafeRawBufferPointer) -> Int? {
        guard let base = line.baseAddress, line.count >= separator.count else { return nil }
        if separator.count == 1 {
            guard let hit = memchr(base, Int32(separator[0]), line.count) else { return nil }
            return UnsafeRawPointer(hit) - base
        }
        return separator.withUnsafeBytes { sep in
            var from = 0
            while from + sep.count <= line.count, let hit = memchr(base + from, Int32(sep[0]), line.count - sep.count + 1 - from) {
                let at = UnsafeRawPointer(hit) - base
                if memcmp(base + at, sep.baseAddress!, sep.count) == 0 { return at }
                from = at + 1
            }
            return nil
        }
    }
}

/// One record of `produce --json` input, parsed into reused buffers.
///
/// `{"key": "k", "value": "v", "headers": [{"key": "h", "value": "x"}], "partition": 0, "timestamp": 1700000000000}`
/// - `key`/`value`: a string (its UTF-8 bytes), null, or any other JSON value
///   (its compact JSON text); `key_base64`/`value_base64` carry binary bytes.
/// - `headers`: an array of `{"key", "value" | "value_base64"}` or an object of strings.
/// - `timestamp`: epoch milliseconds or any time `sluice` accepts; default now.
/// - `topic`, `offset`, `timestamp_type` (present in `consume --json` output) are ignored.
final class JSONRecord {
    static let schemaHelp =
        "each line must be a JSON object with optional key/key_base64, value/value_base64, headers, partition, timestamp"
    let key = ByteBuffer(capacity: 256)
    let value = ByteBuffer(capacity: 4096)
    let headers = ByteBuffer(capacity: 256)
    var hasKey = false
    var hasValue = false
    var headerCount = 0
    var partition: Int?
    var timestamp: Int64 = 0

    private let name = ByteBuffer(capacity: 32)

    /// Parses one object member by member, unescaping strings straight into
    /// the reused buffers (no JSON tree, no `String` per field).
    func parse(_ line: UnsafeRawBufferPointer, now: Int64) throws {
        key.clear(); value.clear(); headers.clear()
        hasKey = false; hasValue = false; headerCount = 0; partition = nil; timestamp = now
        var parser = JSONParser(line)
        try parser.expect(UInt8(ascii: "{"), "a JSON object")
        if !parser.consume(UInt8(ascii: "}")) {
            repeat {
                guard parser.peek() == UInt8(ascii: "\"") else { throw SluiceError.usage(.invalidInput, "expected a member name") }
                name.clear()
                try parser.parseString(into: name)
                try parser.expect(UInt8(ascii: ":"), "':' after a member name")
                try parseMember(&parser, now: now)
            } while parser.consume(UInt8(ascii: ","))
            try parser.expect(UInt8(ascii: "}"), "',' or '}'")
        }
        parser.skipWhitespace()
        guard parser.atEnd else { throw SluiceError.usage(.invalidInput, "unexpected text after the JSON object") }
    }

    private func parseMember(_ parser: inout JSONParser, now: Int64) throws {
        if named("key") { hasKey = try Self.bytes(&parser, into: key); return }
        if named("value") { hasValue = try Self.bytes(&parser, into: value); return }
        let member = try parser.parseValue(depth: 1)
        if named("key_base64") {
            hasKey = try Self.base64(member, "key_base64", into: key)
        } else if named("value_base64") {
            hasValue = try Self.base64(member, "value_base64", into: value)
        } else if named("headers") {
            try parseHeaders(member)
        } else if named("partition") {
            guard let p = member.intValue, p >= 0 else {
                throw SluiceError.usage(.invalidInput, "partition must be a non-negative integer")
            }
            partition = p
        } else if named("timestamp") {
            if let ms = member.int64Value {
                timestamp = ms
            } else if let text = member.stringValue {
                timestamp = try TimeParsing.parseTime(text, now: now)
            } else if !member.isNull {
                throw SluiceError.usage(.invalidInput, "timestamp must be milliseconds or a time string")
            }
            try TimeParsing.checkRecordTimestamp(timestamp)
        } else if !(named("topic") || named("offset") || named("timestamp_type")) {
            throw SluiceError.usage(.invalidInput, "unknown field '\(String(decoding: name.bytes, as: UTF8.self).printable)'")
        }
    }

    private func named(_ literal: StaticString) -> Bool {
        name.count == literal.utf8CodeUnitCount && memcmp(name.base, literal.utf8Start, name.count) == 0
    }

    /// A key or value member: a string's UTF-8 bytes, nothing for null, or any
    /// other JSON value as its compact text. Returns false for null.
    private static func bytes(_ parser: inout JSONParser, into out: ByteBuffer) throws -> Bool {
        switch parser.peek() {
        case UInt8(ascii: "\""):
            try parser.parseString(into: out)
            return true
        default:
            return try bytes(try parser.parseValue(depth: 1), into: out)
        }
    }

    /// Appends a member's bytes; returns false for null.
    private static func bytes(_ member: JSONValue, into out: ByteBuffer) throws -> Bool {
        switch member {
        case .null: return false
        case .string(let s): out.append(s)
        default: member.write(to: out)
        }
        return true
    }

    private static func base64(_ member: JSONValue, _ name: String, into out: ByteBuffer) throws -> Bool {
        if member.isNull { return false }
        guard var text = member.stringValue,
            text.withUTF8({ Base64.decode(UnsafeRawBufferPointer($0), to: out) })
        else {
            throw SluiceError.usage(.invalidInput, "\(name) is not valid base64")
        }
        return true
    }

    private func parseHeaders(_ member: JSONValue) throws {
        let scratchKey = ByteBuffer(capacity: 64), scratchValue = ByteBuffer(capacity: 256)
        func add(_ name: String, _ raw: JSONValue, base64: Bool) throws {
            scratchKey.clear(); scratchValue.clear()
            scratchKey.append(name)
            let present = base64 ? try Self.base64(raw, "header value_base64", into: scratchValue) : try Self.bytes(raw, into: scratchValue)
            HeaderEncoding.appendEntry(key: scratchKey.bytes, value: present ? scratchValue.bytes : nil, to: headers)
            headerCount += 1
        }
        switch member {
        case .null: return
        case .object(let pairs):
            for (name, raw) in pairs { try add(name, raw, base64: false) }
        case .array(let items):
            for item in items {
                guard let name = item["key"]?.stringValue else { throw SluiceError.usage(.invalidInput, "every header needs a string key") }
                if let raw = item["value_base64"] {
                    try add(name, raw, base64: true)
                } else {
                    try add(name, item["value"] ?? .null, base64: false)
                }
            }
        default:
            throw SluiceError.usage(.invalidInput, "headers must be an array of {key, value} or an object")
        }
    }
}
