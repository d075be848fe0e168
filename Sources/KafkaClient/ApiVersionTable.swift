import KafkaProtocol

/// The API versions a broker advertised in ApiVersions, and the version
/// sluice and the broker both speak for each API: the highest in both ranges.
public struct ApiVersionTable: Sendable {
    let advertised: [Int16: ClosedRange<Int16>]

    init(_ response: ApiVersionsResponse) {
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        for api in response.apiKeys where api.minVersion <= api.maxVersion {
            ranges[api.apiKey] = api.minVersion...api.maxVersion
        }
        advertised = ranges
    }

    /// The version to send `R` at, nil when the broker speaks none sluice does.
    public func version<R: KafkaRequest>(for request: R.Type) -> Int16? {
        advertised[R.apiKey.rawValue].flatMap { Self.best(theirs: $0, ours: R.versions) }
    }

    /// The highest version in both ranges, nil when they share none.
    public static func best(theirs: ClosedRange<Int16>, ours: ClosedRange<Int16>) -> Int16? {
        theirs.overlaps(ours) ? min(theirs.upperBound, ours.upperBound) : nil
    }

    /// Whether the broker advertises the API at all (at any version).
    public func advertises(_ key: ApiKey) -> Bool { advertised[key.rawValue] != nil }

    /// A version range as messages print it: "v3-7".
    public static func text(_ range: ClosedRange<Int16>) -> String { "v\(range.lowerBound)-\(range.upperBound)" }

    /// The broker's range for an API, for `cluster describe`.
    public func range(of key: ApiKey) -> ClosedRange<Int16>? { advertised[key.rawValue] }
}
