/// How the client connects and how long it waits; from `--bootstrap-server`
/// and `--command-config` (Kafka's client property names where one exists).
public struct ClientConfiguration: Sendable {
    public var bootstrapServers: [BrokerAddress]
    /// `client.id`: how brokers' logs and quotas name this client.
    public var clientId = "sluice"
    /// Sent in ApiVersions (KIP-511), so brokers' metrics show sluice's version.
    public var softwareVersion = "0"
    /// `request.timeout.ms`: how long a request may wait for its response.
    public var requestTimeoutMillis: Int64 = 30_000
    /// `socket.connection.setup.timeout.ms`: how long a connection may take to open.
    public var connectTimeoutMillis: Int64 = 10_000
    /// `retries`: how many times a request that can be repeated safely is sent
    /// again after a lost connection or a retriable error.
    public var retries = 5
    /// `retry.backoff.ms`: the first wait before a retry; it doubles each time,
    /// up to `retry.backoff.max.ms`.
    public var retryBackoffMillis: Int64 = 100
    public var retryBackoffMaxMillis: Int64 = 1_000
    /// `default.api.timeout.ms`: how long a call keeps asking partitions again
    /// while their leaders move (a broker's failover takes seconds).
    public var apiTimeoutMillis: Int64 = 60_000
    /// `delivery.timeout.ms`: how long a produced batch may keep failing before produce gives up.
    public var deliveryTimeoutMillis: Int64 = 120_000

    /// The wait before retry `attempt` (1, 2, ...): the backoff doubles up to its maximum.
    public func backoffMillis(_ attempt: Int) -> Int64 {
        min(retryBackoffMillis << min(max(attempt - 1, 0), 20), retryBackoffMaxMillis)
    }
    /// The largest response frame accepted; anything larger closes the
    /// connection (a broken or hostile broker cannot make sluice allocate more).
    public var maximumResponseBytes = 256 << 20

    public init(bootstrapServers: [BrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }
}
