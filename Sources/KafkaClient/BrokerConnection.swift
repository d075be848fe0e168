import KafkaProtocol
import NIOCore
import NIOPosix
import SluiceCore
import Synchronization

/// One TCP connection to one broker, with the API versions negotiated on it
/// when it opened. Requests are pipelined: any number may be outstanding,
/// and the broker answers them in order.
public final class BrokerConnection: Sendable {
    public let address: BrokerAddress
    public let versions: ApiVersionTable
    let channel: Channel
    let router: NIOLoopBound<ResponseRouter>
    let settings: ClientConfiguration
    private let loop: EventLoopThread
    private let nextCorrelationId: Atomic<Int32>

    private init(
        _ opened: OpenedChannel, versions: ApiVersionTable, settings: ClientConfiguration, nextCorrelationId: Int32, loop: EventLoopThread
    ) {
        self.loop = loop
        address = opened.address
        channel = opened.channel
        router = opened.router
        self.versions = versions
        self.settings = settings
        self.nextCorrelationId = Atomic(nextCorrelationId)
    }

    deinit { channel.close(promise: nil) }

    /// Whether requests can still be sent on it (a failed request closes it).
    public var isOpen: Bool { channel.isActive }

    /// Connects and negotiates API versions; blocks until both are done.
    static func open(_ address: BrokerAddress, settings: ClientConfiguration, on loop: EventLoopThread) throws -> BrokerConnection {
        let opened = try OpenedChannel.connect(address, settings: settings, on: loop.group)
        do {
            let (versions, used) = try negotiate(on: opened, settings: settings)
            return BrokerConnection(opened, versions: versions, settings: settings, nextCorrelationId: used, loop: loop)
        } catch {
            opened.channel.close(promise: nil)
            throw error
        }
    }

    /// ApiVersions at the newest version sluice speaks; a broker that speaks
    /// only older ones answers UNSUPPORTED_VERSION with a v0 body listing its
    /// range (KIP-511), and the request is sent again at the best common version.
    private static func negotiate(on opened: OpenedChannel, settings: ClientConfiguration) throws -> (ApiVersionTable, Int32) {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "sluice"
        request.clientSoftwareVersion = settings.softwareVersion
        var version = ApiVersionsRequest.versions.upperBound
        for correlationId: Int32 in 0..<2 {
            let frame: [UInt8]
            do {
                frame = try opened.exchange(
                    request.frame(version: version, correlationId: correlationId, clientId: settings.clientId),
                    correlationId: correlationId, timeoutMillis: settings.requestTimeoutMillis, api: .apiVersions
                ).wait()
            } catch let failure as ConnectionFailure {
                throw SluiceError.connection(failure, .apiVersions, to: opened.address, timeoutMillis: settings.requestTimeoutMillis)
            }
            let response = try decodeApiVersions(frame, version: version, from: opened.address)
            let code = KafkaErrorCode(response.errorCode)
            if code == .unsupportedVersion, correlationId == 0 {
                // Brokers before KIP-511 (Kafka 2.4) list nothing: v0 is what every broker speaks, as Kafka's client falls back to.
                let theirs = response.apiKeys.first { $0.apiKey == ApiKey.apiVersions.rawValue }?.maxVersion ?? 0
                if theirs >= ApiVersionsRequest.versions.lowerBound {
                    version = min(theirs, ApiVersionsRequest.versions.upperBound)
                    continue
                }
            }
            guard !code.isError else { throw SluiceError.broker(code, "broker \(opened.address) refused ApiVersions") }
            return (ApiVersionTable(response), correlationId + 1)
        }
        throw SluiceError.failure(
            .unsupportedByBroker, "broker \(opened.address) speaks no ApiVersions version sluice does (\(ApiVersionsRequest.versions))",
            remedy: "sluice speaks Kafka 2.1 and later")
    }

    /// An UNSUPPORTED_VERSION answer is a v0 body whatever version was asked.
    private static func decodeApiVersions(_ frame: [UInt8], version: Int16, from address: BrokerAddress) throws -> ApiVersionsResponse {
        let errorCode = frame.count >= 6 ? Int16(bitPattern: UInt16(frame[4]) << 8 | UInt16(frame[5])) : 0
        let bodyVersion = KafkaErrorCode(errorCode) == .unsupportedVersion ? 0 : version
        do {
            return try ApiVersionsRequest.decodeResponse(frame, version: bodyVersion).response
        } catch {
            throw SluiceError.undecodable(ApiVersionsRequest.self, version: bodyVersion, from: address, error)
        }
    }

    /// Sends a request at the negotiated version; the response arrives on
    /// the returned future, to be decoded by `PendingResponse.wait()`.
    public func submit<R: KafkaRequest>(_ request: R) throws -> PendingResponse<R> {
        guard let version = versions.version(for: R.self) else {
            let advertised = versions.range(of: R.apiKey).map(ApiVersionTable.text) ?? "no version"
            let spoken = ApiVersionTable.text(R.versions)
            throw SluiceError.failure(
                .unsupportedByBroker,
                "broker \(address) does not support \(R.apiKey.name) (it advertises \(advertised), sluice speaks \(spoken))",
                remedy: "this needs a Kafka broker (2.1 or later) that implements \(R.apiKey.name)")
        }
        let correlationId = nextCorrelationId.wrappingAdd(1, ordering: .relaxed).oldValue
        let frame = request.frame(version: version, correlationId: correlationId, clientId: settings.clientId)
        let opened = OpenedChannel(address: address, channel: channel, router: router)
        let future = opened.exchange(frame, correlationId: correlationId, timeoutMillis: settings.requestTimeoutMillis, api: R.apiKey)
        return PendingResponse(future: future, version: version, connection: self)
    }

    /// Sends a request and waits for its response.
    public func call<R: KafkaRequest>(_ request: R) throws -> R.Response {
        try submit(request).wait()
    }

    /// Closes it and waits until it is closed, so `isOpen` is false on return (not on the event loop).
    func close() { try? channel.close().wait() }
}

/// A request sent and not yet answered.
public struct PendingResponse<R: KafkaRequest>: Sendable {
    let future: EventLoopFuture<[UInt8]>
    public let version: Int16
    let connection: BrokerConnection

    /// Blocks until the response arrives and decodes it.
    public func wait() throws -> R.Response {
        let frame: [UInt8]
        do {
            frame = try future.wait()
        } catch let failure as ConnectionFailure {
            throw SluiceError.connection(failure, R.apiKey, to: connection.address, timeoutMillis: connection.settings.requestTimeoutMillis)
        }
        do {
            return try R.decodeResponse(frame, version: version).response
        } catch {
            connection.close()
            throw SluiceError.undecodable(R.self, version: version, from: connection.address, error)
        }
    }
}

/// A connected channel with its frame decoder and response router, before
/// and after version negotiation.
struct OpenedChannel: Sendable {
    let address: BrokerAddress
    let channel: Channel
    let router: NIOLoopBound<ResponseRouter>

    static func connect(_ address: BrokerAddress, settings: ClientConfiguration, on group: EventLoopGroup) throws -> OpenedChannel {
        let maximumBytes = settings.maximumResponseBytes
        // The router as the initializer made it: looked up in the pipeline once connected, it may
        // be gone already (a broker that closes the connection at once takes the handlers with it).
        let made = RouterSlot()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(settings.connectTimeoutMillis))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let router = ResponseRouter()
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumBytes: maximumBytes)))
                    try channel.pipeline.syncOperations.addHandler(router)
                    made.router.withLock { $0 = NIOLoopBound(router, eventLoop: channel.eventLoop) }
                }
            }
        do {
            return try bootstrap.connect(host: address.host, port: address.port).flatMapThrowing { channel in
                guard let router = made.router.withLock({ $0 }) else { throw ChannelPipelineError.notFound }
                return OpenedChannel(address: address, channel: channel, router: router)
            }.wait()
        } catch {
            throw SluiceError.unreachable(address, error)
        }
    }

    /// Writes one frame and expects its response, failing the connection if
    /// none comes within the timeout.
    func exchange(_ frame: [UInt8], correlationId: Int32, timeoutMillis: Int64, api: ApiKey) -> EventLoopFuture<[UInt8]> {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: [UInt8].self)
        let channel = self.channel
        let router = self.router
        loop.execute {
            router.value.expect(correlationId, promise)
            var buffer = channel.allocator.buffer(capacity: frame.count + 4)
            buffer.writeInteger(Int32(frame.count))
            buffer.writeBytes(frame)
            channel.writeAndFlush(buffer, promise: nil)
            let timer = loop.scheduleTask(in: .milliseconds(timeoutMillis)) { router.value.timeOut(correlationId) }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return promise.futureResult
    }
}

/// Where a channel initializer leaves the router it made.
final class RouterSlot: Sendable {
    let router = Mutex<NIOLoopBound<ResponseRouter>?>(nil)
}

extension SluiceError {
    static func unreachable(_ address: BrokerAddress, _ error: Error) -> SluiceError {
        .failure(
            .brokerUnreachable, "cannot connect to broker \(address): \(ConnectErrorText.describe(error))",
            remedy: "check the address (--bootstrap-server, or the broker's advertised listener) and that the broker is up")
    }

    static func connection(_ failure: ConnectionFailure, _ api: ApiKey, to address: BrokerAddress, timeoutMillis: Int64) -> SluiceError {
        switch failure {
        case .timedOut:
            return .failure(
                .brokerTimeout, "broker \(address) did not answer \(api.name) within \(TimeParsing.formatDuration(timeoutMillis))",
                remedy: "the broker may be overloaded; raise request.timeout.ms in --command-config to wait longer")
        case .closed:
            return .failure(
                .brokerUnreachable, "broker \(address) closed the connection during \(api.name)",
                remedy: "check the broker's log; a broker closes the connection on a request it cannot serve")
        case .oversizedFrame(let size):
            return .failure(.protocolViolation, "broker \(address) sent a frame of \(size) bytes, which sluice refuses", remedy: nil)
        case .unexpectedCorrelation(let id):
            return .failure(
                .protocolViolation, "broker \(address) answered a request sluice did not send (correlation id \(id))", remedy: nil)
        }
    }

    static func undecodable<R: KafkaRequest>(_ request: R.Type, version: Int16, from address: BrokerAddress, _ error: Error)
        -> SluiceError
    {
        .failure(
            .protocolViolation, "broker \(address) sent a \(R.apiKey.name) v\(version) response sluice cannot decode: \(error)",
            remedy: "report it, with the broker's version, to the sluice developers")
    }
}
