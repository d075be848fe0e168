import KafkaClient
import SluiceCore

/// How to reach a cluster: `--bootstrap-server`, `--command-config` and
/// `--cluster NAME` resolved into the client's configuration. Property files
/// use Kafka's client format and names (`bootstrap.servers=…`,
/// `request.timeout.ms=…`), so a file kafka-consumer-groups.sh takes works.
public struct ClusterSettings: Sendable {
    public var client: ClientConfiguration
    /// How messages name the cluster.
    public var name: String

    /// Settings from a bootstrap list and property files' contents (later
    /// ones win; `bootstrap` wins over `bootstrap.servers` in a file).
    /// Unknown properties are ignored with a warning, as Kafka's clients do.
    public static func resolve(bootstrap: String?, name: String?, properties: [(source: String, text: String)]) throws -> ClusterSettings {
        var values: [String: (value: String, source: String)] = [:]
        for file in properties {
            for (key, value) in try parseProperties(file.text, source: file.source) { values[key] = (value, file.source) }
        }
        guard let servers = bootstrap ?? values["bootstrap.servers"]?.value else {
            throw SluiceError.usage(
                .invalidArgument, "no bootstrap servers for cluster '\(name ?? "")'",
                remedy: "set bootstrap.servers=HOST:PORT in \(properties.last?.source ?? "its file"), or pass --bootstrap-server")
        }
        var configuration = ClientConfiguration(bootstrapServers: try BrokerAddress.parseList(servers))
        for (key, entry) in values.sorted(by: { $0.key < $1.key }) {
            try apply(key, entry.value, from: entry.source, to: &configuration)
        }
        return ClusterSettings(client: configuration, name: name ?? servers)
    }

    private static func apply(_ key: String, _ value: String, from source: String, to configuration: inout ClientConfiguration) throws {
        func milliseconds() throws -> Int64 {
            guard let number = Int64(value), (1...3_600_000).contains(number) else {
                throw invalid(key, value, source, "a number of milliseconds from 1 to 3600000")
            }
            return number
        }
        switch key {
        case "bootstrap.servers": break
        case "client.id": configuration.clientId = value
        case "request.timeout.ms": configuration.requestTimeoutMillis = try milliseconds()
        case "socket.connection.setup.timeout.ms": configuration.connectTimeoutMillis = try milliseconds()
        case "retry.backoff.ms": configuration.retryBackoffMillis = try milliseconds()
        case "retry.backoff.max.ms": configuration.retryBackoffMaxMillis = try milliseconds()
        case "default.api.timeout.ms": configuration.apiTimeoutMillis = try milliseconds()
        case "delivery.timeout.ms": configuration.deliveryTimeoutMillis = try milliseconds()
        case "retries":
            guard let number = Int(value), (0...100).contains(number) else { throw invalid(key, value, source, "a number from 0 to 100") }
            configuration.retries = number
        case "security.protocol":
            guard value.uppercased() == "PLAINTEXT" else {
                throw SluiceError.usage(
                    .invalidArgument, "security.protocol=\(value.printable) in \(source): this sluice speaks PLAINTEXT only",
                    remedy: "TLS and SASL are not built yet; reach the cluster through a PLAINTEXT listener")
            }
        default:
            Diagnostics.warn("ignoring the unknown client property '\(key.printable)' in \(source)")
        }
    }

    private static func invalid(_ key: String, _ value: String, _ source: String, _ expected: String) -> SluiceError {
        .usage(.invalidArgument, "invalid \(key)=\(value.printable) in \(source)", remedy: "give \(expected)")
    }

    /// Java properties as Kafka's tools write them: `key=value` or
    /// `key: value` per line, `#` and `!` comments, blank lines, spaces
    /// around the separator trimmed.
    static func parseProperties(_ text: String, source: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimming([" ", "\t", "\r"])
            guard !line.isEmpty, !line.hasPrefix("#"), !line.hasPrefix("!") else { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw SluiceError.usage(
                    .invalidArgument, "\(source):\(number + 1): '\(String(line).printable)' is not key=value", remedy: nil)
            }
            pairs.append(
                (String(line[..<separator].trimming([" ", "\t"])), String(line[line.index(after: separator)...].trimming([" ", "\t"]))))
        }
        return pairs
    }
}
