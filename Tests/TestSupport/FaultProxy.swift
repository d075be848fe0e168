import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy in front of a Kafka broker that breaks the wire on purpose, so
/// tests can show what a client does when a connection is lost, a response never
/// comes, or the bytes that come are wrong.
///
/// It listens on a free loopback port; each connection accepted there gets one of
/// its own to the upstream broker, and frames (a big-endian int32 size, then that
/// many bytes: in a response, the correlation id first) are forwarded whole in both
/// directions, each direction on a thread of its own. What it breaks is `fault`,
/// which can change at any time, from any thread; the counts in a fault are frames
/// *on each connection*, from its first one (ApiVersions included), so a client's
/// new connection starts from zero. `inject(_:connections:)` limits a fault to the
/// first connections it hits: with `.closeAfterRequests(1)` on one connection, a
/// retry on a new connection goes through.
///
/// `stop()` (also on deinit) closes the listener and every connection, and returns
/// once every thread the proxy started has ended and every socket it opened is closed.
/// Plain POSIX sockets and threads: the proxy shares no code with the client it tests.
public final class FaultProxy: Sendable {
    public enum Fault: Sendable, Equatable, CustomStringConvertible {
        /// Everything is forwarded unchanged.
        case none
        /// `n` request frames are forwarded; when the next one arrives, it is not, and the
        /// connection is closed on both sides (so that request is lost, and any sent behind it).
        case closeAfterRequests(Int)
        /// `n` responses are forwarded, every later one on the connection is swallowed.
        case dropResponses(after: Int)
        /// The `n`-th response (from 1) has its last byte flipped (XOR 0xFF). In a response
        /// of a flexible version that byte is the body's tagged-field count, 0, which becomes
        /// a varint cut short: the response no longer decodes, whatever the API.
        case corruptResponse(Int)
        /// `n` responses are forwarded; instead of the next one the client gets a frame header
        /// announcing 2 GiB - 1 bytes (`oversizedFrameSize`), and nothing more on that connection.
        case oversizedFrame(after: Int)
        /// `n` responses are forwarded; the next one's correlation id is complemented (`~id`).
        case wrongCorrelation(after: Int)
        /// Every connection is accepted and closed at once, before anything is read.
        case refuse

        public var description: String {
            switch self {
            case .none: return "none"
            case .closeAfterRequests(let n): return "close after \(n) requests"
            case .dropResponses(let n): return "drop responses after \(n)"
            case .corruptResponse(let n): return "corrupt response \(n)"
            case .oversizedFrame(let n): return "oversized frame after \(n) responses"
            case .wrongCorrelation(let n): return "wrong correlation id after \(n) responses"
            case .refuse: return "refuse"
            }
        }
    }

    /// The size `.oversizedFrame` announces.
    public static let oversizedFrameSize = Int32.max

    /// The loopback port it listens on.
    public let port: UInt16
    /// "127.0.0.1:PORT", for bootstrap.servers.
    public var address: String { "127.0.0.1:\(port)" }
    private let core: Core

    /// A proxy to `upstream` ("HOST:PORT"), listening and with `fault` `.none`.
    public init(upstream: String) throws {
        guard let colon = upstream.lastIndex(of: ":"), let upstreamPort = UInt16(upstream[upstream.index(after: colon)...]) else {
            throw TestBedError("FaultProxy: upstream '\(upstream)' is not HOST:PORT")
        }
        let host = String(upstream[..<colon]).trimmingBrackets
        let listener = try Self.listen()
        // How stop() wakes the accept thread (a socket pair: it takes SOCK_CLOEXEC, as pipe() does not).
        var wake: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &wake) == 0 else {
            close(listener.fd)
            throw TestBedError("FaultProxy: socketpair: \(String(cString: strerror(errno)))")
        }
        port = listener.port
        core = Core(listener: listener.fd, wake: (wake[0], wake[1]), upstreamHost: host, upstreamPort: upstreamPort)
        core.start()
    }

    /// A proxy in front of the test broker.
    public convenience init(in front: TestBroker) throws {
        try self.init(upstream: front.bootstrap)
    }

    deinit { core.stop() }

    /// What the proxy breaks, on every connection, open or still to come.
    public var fault: Fault {
        get { core.state.withLock { $0.fault } }
        set { core.state.withLock { $0.setFault(newValue, connections: nil) } }
    }

    /// Sets `fault` until it has hit `connections` connections; then it is `.none` again.
    public func inject(_ fault: Fault, connections: Int) {
        precondition(connections > 0, "a fault must hit at least one connection")
        core.state.withLock { $0.setFault(fault, connections: connections) }
    }

    /// Request frames read from clients, forwarded or not.
    public var requestsSeen: Int { core.state.withLock { $0.requests } }
    /// Response frames read from the broker, forwarded or not.
    public var responsesSeen: Int { core.state.withLock { $0.responses } }
    /// Connections accepted, refused ones included.
    public var connectionsAccepted: Int { core.state.withLock { $0.accepted } }
    /// Connections a fault took effect on.
    public var faultsFired: Int { core.state.withLock { $0.fired } }
    /// Client connections whose sockets are still open.
    public var openConnections: Int { core.state.withLock { $0.links.count } }
    /// Threads the proxy started that have not ended.
    public var runningThreads: Int { core.state.withLock { $0.runningThreads } }

    /// Closes the listener and every connection, and waits for every thread the
    /// proxy started to end. Idempotent.
    public func stop() { core.stop() }

    private static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestBedError("FaultProxy: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 && Glibc.listen(fd, 64) == 0
            }
        }
        guard listening else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TestBedError("FaultProxy: cannot listen on a loopback port: \(reason)")
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }
}

extension String {
    fileprivate var trimmingBrackets: String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self
    }
}

// MARK: - The machinery

/// The listener, the connections and the fault; what the proxy's threads share
/// (they hold this, not the `FaultProxy`, so dropping the proxy stops them).
private final class Core: Sendable {
    let listener: Int32
    let wake: (read: Int32, write: Int32)
    let upstreamHost: String
    let upstreamPort: UInt16
    let state = Locked(State())

    init(listener: Int32, wake: (read: Int32, write: Int32), upstreamHost: String, upstreamPort: UInt16) {
        self.listener = listener
        self.wake = wake
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
    }

    func start() {
        let thread = spawn { [self] in acceptLoop() }
        state.withLock { $0.acceptThread = thread }
    }

    /// Wakes the accept thread and waits for it, so no connection comes after; then
    /// cuts every connection and waits for their threads (the last of a
    /// connection's two threads closes its sockets).
    func stop() {
        let acceptThread: pthread_t? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.stopped = true
            return state.acceptThread
        }
        guard let acceptThread else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        pthread_join(acceptThread, nil)
        for link in state.withLock({ $0.links.values.map(\.link) }) { link.cut() }
        let threads = state.withLock { state in
            defer { state.linkThreads = [] }
            return state.linkThreads
        }
        for thread in threads { pthread_join(thread, nil) }
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    private func acceptLoop() {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = Self.accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if client < 0 {
                if [EINTR, EAGAIN, ECONNABORTED, EMFILE, ENFILE].contains(errno) { continue }
                return
            }
            admit(client)
        }
    }

    /// accept4(2), which Glibc's Swift module hides (it is a GNU extension): accept with
    /// SOCK_CLOEXEC in one step, so no process a test spawns meanwhile inherits the socket
    /// (and holds the connection open after the proxy closes it).
    private static let accept4 = unsafeBitCast(
        dlsym(nil, "accept4")!,
        to: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32).self)

    /// A new client connection: refused, or joined to a new connection upstream
    /// and served by two threads.
    private func admit(_ client: Int32) {
        let id: Int? = state.withLock { state in
            state.accepted += 1
            guard !state.stopped else { return nil }
            if state.fault == .refuse {
                state.fired(on: -1)
                return nil
            }
            state.nextLinkId += 1
            return state.nextLinkId
        }
        guard let id, let upstream = connectUpstream() else {
            close(client)
            return
        }
        for fd in [client, upstream] {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let link = Link(id: id, client: client, upstream: upstream)
        state.withLock { $0.links[id] = LinkRecord(link: link) }
        let threads = [spawn { [self] in forwardRequests(link) }, spawn { [self] in forwardResponses(link) }]
        state.withLock { $0.linkThreads += threads }
    }

    private func connectUpstream() -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(upstreamHost, String(upstreamPort), &hints, &list) == 0 else { return nil }
        defer { freeaddrinfo(list) }
        var entry = list
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if fd >= 0 {
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            entry = info.pointee.ai_next
        }
        return nil
    }

    /// Client to broker, frame by frame, until either side ends or the fault cuts it.
    private func forwardRequests(_ link: Link) {
        while let frame = Wire.readFrame(link.client) {
            let cut = state.withLock { $0.request(on: link.id) }
            if cut || !Wire.writeAll(link.upstream, frame) { break }
        }
        finish(link)
    }

    /// Broker to client, frame by frame, with the fault applied.
    private func forwardResponses(_ link: Link) {
        while var frame = Wire.readFrame(link.upstream) {
            switch state.withLock({ $0.response(on: link.id) }) {
            case .forward:
                break
            case .swallow:
                continue
            case .corrupt:
                if frame.count > 8 { frame[frame.count - 1] ^= 0xFF }
            case .oversize:
                frame = Wire.bigEndian(FaultProxy.oversizedFrameSize)
            case .rewriteCorrelation:
                if frame.count >= 8 {
                    let id = Int32(bitPattern: frame[4..<8].reduce(0) { $0 << 8 | UInt32($1) })
                    frame.replaceSubrange(4..<8, with: Wire.bigEndian(~id))
                }
            }
            if !Wire.writeAll(link.client, frame) { break }
        }
        finish(link)
    }

    /// One of a connection's threads is done: the connection is cut (which wakes
    /// the other), and the second to finish closes the sockets.
    private func finish(_ link: Link) {
        link.cut()
        if link.finishOne() { _ = state.withLock { $0.links.removeValue(forKey: link.id) } }
    }

    /// Starts a thread running `body`, counted in `runningThreads` until it returns.
    private func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        state.withLock { $0.runningThreads += 1 }
        let counted = ThreadBody { [self] in
            body()
            state.withLock { $0.runningThreads -= 1 }
        }
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, Unmanaged.passRetained(counted).toOpaque())
        precondition(result == 0, "FaultProxy: pthread_create: \(String(cString: strerror(result)))")
        return thread
    }
}

/// A value behind an NSLock: a pthread mutex, which ThreadSanitizer follows (under
/// Synchronization.Mutex, on Linux, it reported this file's locked accesses as races).
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A client connection and its upstream one. Either thread may cut it (shut
/// both sockets down, which wakes the other thread's blocked read); the sockets
/// are closed only when both threads are done with them.
private final class Link: Sendable {
    let id: Int
    let client: Int32
    let upstream: Int32
    private let state = Locked((finished: 0, closed: false))

    init(id: Int, client: Int32, upstream: Int32) {
        self.id = id
        self.client = client
        self.upstream = upstream
    }

    func cut() {
        state.withLock { state in
            guard !state.closed else { return }
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
        }
    }

    /// Whether this was the second thread to finish (and the sockets are now closed).
    func finishOne() -> Bool {
        state.withLock { state in
            state.finished += 1
            guard state.finished == 2 else { return false }
            state.closed = true
            close(client)
            close(upstream)
            return true
        }
    }
}

private struct LinkRecord {
    let link: Link
    var requests = 0
    var responses = 0
    /// Set when the fault swallows the rest of the connection's responses.
    var swallowing = false
}

private enum ResponseAction {
    case forward, swallow, corrupt, oversize, rewriteCorrelation
}

private struct State {
    var fault = FaultProxy.Fault.none
    /// Connections the fault may still hit before it goes back to `.none`; nil: any number.
    var hitsLeft: Int?
    var requests = 0
    var responses = 0
    var accepted = 0
    var fired = 0
    var nextLinkId = 0
    var links: [Int: LinkRecord] = [:]
    var acceptThread: pthread_t?
    var linkThreads: [pthread_t] = []
    var runningThreads = 0
    var stopped = false

    mutating func setFault(_ fault: FaultProxy.Fault, connections: Int?) {
        self.fault = fault
        hitsLeft = connections
    }

    /// The fault took effect on a connection (each fault does so at most once per connection).
    mutating func fired(on id: Int) {
        fired += 1
        guard let left = hitsLeft else { return }
        if left > 1 {
            hitsLeft = left - 1
        } else {
            setFault(.none, connections: nil)
        }
    }

    /// A request frame arrived on connection `id`: whether to cut the connection instead of forwarding it.
    mutating func request(on id: Int) -> Bool {
        requests += 1
        links[id]?.requests += 1
        guard case .closeAfterRequests(let n) = fault, let count = links[id]?.requests, count > n else { return false }
        fired(on: id)
        return true
    }

    /// A response frame arrived on connection `id`: what to do with it.
    mutating func response(on id: Int) -> ResponseAction {
        responses += 1
        guard var record = links[id] else { return .swallow }
        defer { links[id] = record }
        record.responses += 1
        if record.swallowing { return .swallow }
        let count = record.responses
        let action: ResponseAction
        switch fault {
        case .dropResponses(let n) where count > n:
            record.swallowing = true
            action = .swallow
        case .corruptResponse(let n) where count == n:
            action = .corrupt
        case .oversizedFrame(let n) where count == n + 1:
            record.swallowing = true
            action = .oversize
        case .wrongCorrelation(let n) where count == n + 1:
            action = .rewriteCorrelation
        default:
            return .forward
        }
        fired(on: id)
        return action
    }
}

/// Blocking frame I/O on a socket.
private enum Wire {
    /// Larger frames than this mean the stream is not Kafka's: the connection is cut.
    static let maximumFrame = 1 << 30

    /// The next frame, its size header included; nil at the end of the stream or on an error.
    static func readFrame(_ fd: Int32) -> [UInt8]? {
        guard let header = read(fd, 4) else { return nil }
        let size = Int(Int32(bitPattern: header.reduce(0) { $0 << 8 | UInt32($1) }))
        guard size >= 0, size <= maximumFrame, let body = read(fd, size) else { return nil }
        return header + body
    }

    static func read(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return nil
            }
        }
        return bytes
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    static func bigEndian(_ value: Int32) -> [UInt8] {
        let bits = UInt32(bitPattern: value)
        return [UInt8(bits >> 24), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits & 0xFF)]
    }
}
