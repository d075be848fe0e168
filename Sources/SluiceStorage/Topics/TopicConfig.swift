import KafkaFormat
import SluiceCore
import SluiceStore

/// A topic's configuration, under Kafka's names and defaults.
public struct TopicConfig: Equatable, Sendable {
    /// `segment.bytes`: roll to a new segment when the active one would exceed this.
    public var segmentBytes: Int64 = 1 << 30
    /// `segment.ms`: roll when the active segment's first record is older than this.
    public var segmentMs: Int64 = 7 * 86_400_000
    /// `retention.ms`: `sluice retention` deletes segments whose newest record is older (-1: forever).
    public var retentionMs: Int64 = 7 * 86_400_000
    /// `retention.bytes`: `sluice retention` deletes the oldest segments beyond this size per partition (-1: no limit).
    public var retentionBytes: Int64 = -1
    /// `compression.type`: `producer` (as the producer asks), `none` or `zstd`.
    public var compression: CompressionSetting = .producer
    /// `index.interval.bytes`: bytes of log between `.index` entries.
    public var indexIntervalBytes: Int64 = 4096

    public enum CompressionSetting: String, Sendable, CaseIterable {
        case producer, none, zstd
    }

    public init() {}

    public struct Key: Sendable {
        public let name: String
        public let summary: String
    }

    public static let keys: [Key] = [
        Key(name: "segment.bytes", summary: "roll segments at this size (bytes; default 1073741824)"),
        Key(name: "segment.ms", summary: "roll segments whose first record is older than this (ms or a duration; default 7d)"),
        Key(name: "retention.ms", summary: "delete segments older than this (ms or a duration, -1 forever; default 7d)"),
        Key(name: "retention.bytes", summary: "keep at most this many bytes per partition (-1 no limit; default -1)"),
        Key(name: "compression.type", summary: "producer, none or zstd (default producer)"),
        Key(name: "index.interval.bytes", summary: "bytes between offset index entries (default 4096)"),
    ]

    /// Sets one key from its text form, validating the value.
    public mutating func set(_ key: String, _ text: String) throws {
        switch key {
        case "segment.bytes":
            segmentBytes = try Self.integer(key, text, in: 1024...Int64(Int32.max))
        case "segment.ms":
            segmentMs = try Self.milliseconds(key, text, allowInfinite: false)
        case "retention.ms":
            retentionMs = try Self.milliseconds(key, text, allowInfinite: true)
        case "retention.bytes":
            retentionBytes = try Self.integer(key, text, in: -1...Int64.max)
        case "compression.type":
            let normalized = text == "uncompressed" ? "none" : text.lowercased()
            guard let setting = CompressionSetting(rawValue: normalized) else {
                throw SluiceError.usage(
                    .invalidConfig, "invalid compression.type '\(text.printable)'",
                    remedy: "use producer, none or zstd")
            }
            compression = setting
        case "index.interval.bytes":
            indexIntervalBytes = try Self.integer(key, text, in: 0...Int64(Int32.max))
        default:
            throw SluiceError.usage(
                .invalidConfig, "unknown topic config '\(key.printable)'",
                remedy: "known keys: " + Self.keys.map(\.name).joined(separator: ", "))
        }
    }

    /// Parses and applies `key=value` assignments.
    public mutating func apply(assignments: [String]) throws {
        for (key, value) in try TopicLayout.configAssignments(assignments) { try set(key, value) }
    }

    /// Every key with its value, in `keys` order.
    public var entries: [(String, String)] {
        [
            ("segment.bytes", String(segmentBytes)),
            ("segment.ms", String(segmentMs)),
            ("retention.ms", String(retentionMs)),
            ("retention.bytes", String(retentionBytes)),
            ("compression.type", compression.rawValue),
            ("index.interval.bytes", String(indexIntervalBytes)),
        ]
    }

    /// The codec `produce` uses when the topic and the command line are both consulted.
    public func codec(requested: CompressionCodec?) -> CompressionCodec {
        switch compression {
        case .producer: return requested ?? .none
        case .none: return .none
        case .zstd: return .zstd
        }
    }

    private static func integer(_ key: String, _ text: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard let value = Int64(text), range.contains(value) else {
            throw SluiceError.usage(
                .invalidConfig, "invalid \(key) '\(text.printable)'",
                remedy: "use an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private static func milliseconds(_ key: String, _ text: String, allowInfinite: Bool) throws -> Int64 {
        if allowInfinite && text == "-1" { return -1 }
        if let value = Int64(text), value > 0 { return value }
        do {
            return try TimeParsing.parseDuration(text)
        } catch {
            throw SluiceError.usage(
                .invalidConfig, "invalid \(key) '\(text.printable)'",
                remedy: "use milliseconds or a duration like 7d\(allowInfinite ? ", or -1 for forever" : "")")
        }
    }
}
