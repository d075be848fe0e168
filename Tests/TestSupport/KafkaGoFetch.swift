/// segmentio/kafka-go's captured Fetch v10 responses (fixtures/kafka/kafka-go-fetch,
/// MIT): each holds one partition's record set, a verbatim slice of the broker's
/// segment from offset 0, mixing uncompressed and gzip v2 batches with
/// uncompressed and gzip-compressed legacy magic-1 messages.
public enum KafkaGoFetch {
    /// Every capture with the keys of its records, in offset order from 0
    /// (each file's producer reused key names).
    public static let captures: [(file: String, keys: [String])] = [
        ("kgo_v1-v1.hex", ["alpha", "beta", "gamma", "delta"]),
        (
            "kgo_v1-v1c-v2-v2c-v2b-v2b-v2b-v2bc-v1b-v1bc.hex",
            [
                "alpha", "beta", "alpha", "beta", "gamma", "delta", "gamma", "delta", "epsilon", "zeta",
                "epsilon", "zeta", "eta", "theta", "eta", "theta", "eta", "theta", "eta", "theta",
            ]
        ),
        ("kgo_v1c-v1-v1c.hex", ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]),
        ("kgo_v1c-v1c.hex", ["alpha", "beta", "gamma", "delta"]),
        ("kgo_v2-v2.hex", ["alpha", "beta", "gamma", "delta"]),
        ("kgo_v2b-v1.hex", ["alpha", "beta", "alpha", "beta"]),
        ("kgo_v2bc-v1-v1c.hex", ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]),
        ("kgo_v2bc-v1.hex", ["alpha", "beta", "gamma", "delta"]),
        ("kgo_v2bc-v1c.hex", ["alpha", "beta", "alpha", "beta"]),
        ("kgo_v2c-v2-v2c.hex", ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]),
        ("kgo_v2c-v2c.hex", ["alpha", "beta", "gamma", "delta"]),
    ]

    /// The value kafka-go's test producer gave each key: the key's position in
    /// the Greek alphabet picks the filler letter, e.g. `{"count":0,"filler":"cccccccccc"}` for gamma.
    public static func value(forKey key: String) -> String {
        let names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
        let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(names.firstIndex(of: key)!)))
        return #"{"count":0,"filler":"\#(String(repeating: letter, count: 10))"}"#
    }

    /// The record set of a capture: the bytes of the single partition's `records`
    /// field, found by walking the Fetch v10 response (size, correlation id,
    /// throttle, error, session id, one topic, one partition with its error,
    /// high watermark, last stable offset, log start offset, aborted transactions).
    public static func recordSet(_ file: String) throws -> [UInt8] {
        let response = try Fixtures.hex("kafka-go-fetch/" + file)
        var position = 4 + 4 + 4 + 2 + 4
        func int<T: FixedWidthInteger>(_: T.Type) -> T {
            defer { position += MemoryLayout<T>.size }
            return response[position..<(position + MemoryLayout<T>.size)].reduce(0) { $0 << 8 | T($1) }
        }
        precondition(int(Int32.self) == 1, "one topic")
        position += Int(int(Int16.self))
        precondition(int(Int32.self) == 1, "one partition")
        position += 4 + 2 + 8 + 8 + 8
        let aborted = int(Int32.self)
        position += Int(max(aborted, 0)) * 16
        let length = Int(int(Int32.self))
        return Array(response[position..<(position + length)])
    }
}
