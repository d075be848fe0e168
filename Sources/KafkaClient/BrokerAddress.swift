import SluiceCore

/// A broker's host and port, as `--bootstrap-server` and Metadata give them.
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `HOST:PORT[,HOST:PORT…]` (IPv6 hosts in brackets), as Kafka's
    /// tools take `--bootstrap-server`; a missing port is Kafka's 9092.
    public static func parseList(_ text: String) throws -> [BrokerAddress] {
        let items = text.split(separator: ",").map { $0.trimming([" "]) }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw SluiceError.usage(.invalidArgument, "no broker address in '\(text.printable)'", remedy: "give HOST:PORT[,HOST:PORT...]")
        }
        return try items.map(parse)
    }

    static func parse(_ item: Substring) throws -> BrokerAddress {
        var host = item
        var port: Substring = "9092"
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else { throw malformed(item) }
            host = item[item.index(after: item.startIndex)..<close]
            let rest = item[item.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw malformed(item) }
                port = rest.dropFirst()
            }
        } else if let colon = item.lastIndex(of: ":") {
            host = item[..<colon]
            port = item[item.index(after: colon)...]
            guard !host.contains(":") else { throw malformed(item) }
        }
        guard !host.isEmpty, let number = Int(port), (1...65_535).contains(number) else { throw malformed(item) }
        return BrokerAddress(host: String(host), port: number)
    }

    private static func malformed(_ item: Substring) -> SluiceError {
        .usage(
            .invalidArgument, "malformed broker address '\(String(item).printable)'",
            remedy: "give HOST:PORT, e.g. kafka-1.example.com:9092 or [::1]:9092")
    }
}
