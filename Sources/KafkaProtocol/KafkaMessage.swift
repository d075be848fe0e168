/// One message of Kafka's protocol (a request or response body, or an
/// embedded structure such as the consumer protocol's assignment), encoded
/// and decoded at a given version. The conformances are generated from
/// Kafka's schemas (`Messages/`, Tools/generate-protocol.py).
public protocol KafkaMessage: Sendable, Equatable {
    /// The versions sluice speaks.
    static var versions: ClosedRange<Int16> { get }
    /// The first version with compact fields and tagged fields (nil: none).
    static var firstFlexibleVersion: Int16? { get }

    init()
    init(from reader: inout ProtocolReader, version: Int16) throws(ProtocolDecodingError)
    func encode(into writer: inout ProtocolWriter, version: Int16)
}

/// A request, with the API it belongs to and the response it expects.
public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaMessage
    static var apiKey: ApiKey { get }
}

extension KafkaMessage {
    public static func isFlexible(_ version: Int16) -> Bool {
        firstFlexibleVersion.map { version >= $0 } ?? false
    }

    /// The body alone, at `version`.
    public func encoded(version: Int16) -> [UInt8] {
        var writer = ProtocolWriter()
        encode(into: &writer, version: version)
        return writer.bytes
    }

    /// Decodes a whole body; bytes left over mean the peer and sluice disagree
    /// on the schema, which is an error rather than something to ignore.
    public init(decoding bytes: [UInt8], version: Int16) throws(ProtocolDecodingError) {
        var reader = ProtocolReader(bytes)
        try self.init(from: &reader, version: version)
        guard reader.isAtEnd else {
            throw ProtocolDecodingError("\(reader.remaining) bytes left over after a v\(version) \(Self.self)")
        }
    }
}

extension KafkaRequest {
    /// Request header v1 (v2 with its tagged fields in flexible versions),
    /// then the body: one frame without its size prefix. The client id is
    /// never compact, even in flexible versions.
    public func frame(version: Int16, correlationId: Int32, clientId: String?) -> [UInt8] {
        var writer = ProtocolWriter()
        writer.writeInt16(Self.apiKey.rawValue)
        writer.writeInt16(version)
        writer.writeInt32(correlationId)
        writer.writeString(clientId, flexible: false)
        if Self.isFlexible(version) { writer.writeTaggedFields([]) }
        encode(into: &writer, version: version)
        return writer.bytes
    }

    /// Whether the response to `version` has header v1 (tagged fields after
    /// the correlation id). ApiVersions' response header is always v0: a
    /// client reads it before it knows what the broker speaks.
    public static func responseHasTaggedHeader(_ version: Int16) -> Bool {
        isFlexible(version) && apiKey != .apiVersions
    }

    /// Decodes a response frame (without its size prefix): the correlation id
    /// and the body.
    public static func decodeResponse(_ frame: [UInt8], version: Int16) throws(ProtocolDecodingError) -> (
        correlationId: Int32, response: Response
    ) {
        var reader = ProtocolReader(frame)
        let correlationId = try reader.readInt32()
        if responseHasTaggedHeader(version) { try reader.readTaggedFields { _, _ in false } }
        let response = try Response(from: &reader, version: version)
        guard reader.isAtEnd else {
            throw ProtocolDecodingError("\(reader.remaining) bytes left over after a v\(version) \(Response.self)")
        }
        return (correlationId, response)
    }
}
