import ArgumentParser
import KafkaClient
import SluiceCluster
import SluiceCore
import SluiceLocal
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Options every command that touches a store takes: a data directory, or a
/// Kafka cluster (`--bootstrap-server`, `--cluster`).
struct CommonOptions: ParsableArguments {
    /// The data directory this process opened, for messages about it (a full disk).
    nonisolated(unsafe) static var opened: String?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "The data directory (default: $SLUICE_DATA_DIR, else $XDG_DATA_HOME/sluice or ~/.local/share/sluice).", valueName: "path"))
    var dataDir: String?

    @Option(
        name: .customLong("bootstrap-server"),
        help: ArgumentHelp(
            "Work on the Kafka cluster at these brokers instead of a data directory (default: $SLUICE_BOOTSTRAP_SERVERS).",
            valueName: "host:port[,host:port...]"))
    var bootstrapServer: String?

    @Option(
        name: .customLong("cluster"),
        help: ArgumentHelp(
            "Work on the Kafka cluster set in $XDG_CONFIG_HOME/sluice/clusters/NAME.properties (bootstrap.servers=HOST:PORT, ...).",
            valueName: "name"))
    var cluster: String?

    @Option(
        name: .customLong("command-config"),
        help: ArgumentHelp("A Kafka client properties file for the cluster (request.timeout.ms, client.id, ...).", valueName: "path"))
    var commandConfig: String?

    @Option(
        name: .customLong("lock-timeout"), parsing: .unconditional,
        help: ArgumentHelp("How long to wait for a lock held by another process before failing (default 10s).", valueName: "duration"))
    var lockTimeout: String?

    @Flag(
        name: [.customShort("q"), .customLong("quiet")], help: "Print no progress or notices on stderr (errors and warnings still print).")
    var quiet = false

    /// The data directory path in effect.
    var path: String {
        if let dataDir { return dataDir }
        if let env = getenv("SLUICE_DATA_DIR").map({ String(cString: $0) }), !env.isEmpty { return env }
        let base =
            getenv("XDG_DATA_HOME").map { String(cString: $0) } ?? ((getenv("HOME").map { String(cString: $0) } ?? ".") + "/.local/share")
        return base + "/sluice"
    }

    /// Applies process-wide settings and opens the data directory.
    func open() throws -> DataDirectory {
        try apply()
        if let cluster = try clusterSettings() {
            throw SluiceError.usage(
                .invalidArgument, "this command does not run on a Kafka cluster yet (\(cluster.name))",
                remedy:
                    "on a cluster, sluice runs 'cluster describe' and the 'topic' commands other than migrate; give --data-dir for the rest"
            )
        }
        Self.opened = FileSystem.followingUserLinks(path)
        return try DataDirectory.open(path)
    }

    /// Opens the data directory for a command that writes. Every write
    /// command opens through here, so a directory sluice only reads (a Kafka
    /// broker's log directory, or bare partition directories) is refused in
    /// one place, with one message, before anything is read or written.
    func open(writing action: String) throws -> DataDirectory {
        let directory = try open()
        try directory.requireWritable(action)
        return directory
    }

    /// Opens the store the options select, on which the operations run.
    func openStore() throws -> Store {
        LocalStore(try open())
    }

    /// Opens the topics of the store the options select: a cluster's, or the
    /// data directory's (the local store, which also holds groups).
    func openTopicStore(writing action: String? = nil) throws -> TopicStore {
        if let cluster = try openCluster() { return cluster }
        return try action.map(openStore(writing:)) ?? openStore()
    }

    /// The cluster the options select, nil when they select the data directory.
    func openCluster() throws -> ClusterStore? {
        try apply()
        return try clusterSettings().map { ClusterStore(client: KafkaClient($0.client), name: $0.name) }
    }

    /// The cluster the options select, nil for the data directory: a flag
    /// wins over the environment, and a data directory given with a cluster
    /// is a contradiction.
    func clusterSettings() throws -> ClusterSettings? {
        let environment = getenv("SLUICE_BOOTSTRAP_SERVERS").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        guard bootstrapServer != nil || cluster != nil || (environment != nil && dataDir == nil) else {
            if commandConfig != nil {
                throw SluiceError.usage(
                    .invalidArgument, "--command-config configures a cluster", remedy: "give --bootstrap-server or --cluster too")
            }
            return nil
        }
        if dataDir != nil {
            throw SluiceError.usage(
                .invalidArgument, "--data-dir and a cluster (--bootstrap-server or --cluster) exclude each other", remedy: "give one")
        }
        var files: [(source: String, text: String)] = []
        if let cluster { files.append(try Self.readProperties(Self.clusterFile(cluster), what: "cluster '\(cluster.printable)'")) }
        if let commandConfig { files.append(try Self.readProperties(commandConfig, what: "--command-config")) }
        return try ClusterSettings.resolve(
            bootstrap: bootstrapServer ?? (cluster == nil ? environment : nil), name: cluster, properties: files)
    }

    /// Where `--cluster NAME` is configured.
    static func clusterFile(_ name: String) -> String {
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        let base = getenv("XDG_CONFIG_HOME").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        return "\(base)/sluice/clusters/\(name).properties"
    }

    private static func readProperties(_ path: String, what: String) throws -> (source: String, text: String) {
        guard let bytes = try FileSystem.readIfExists(path, limit: 1 << 20) else {
            throw SluiceError.usage(
                .invalidArgument, "\(what): \(path) does not exist",
                remedy: "write bootstrap.servers=HOST:PORT and any client properties there")
        }
        return (path, String(decoding: bytes, as: UTF8.self))
    }

    /// Opens the store for a command that writes (see `open(writing:)`).
    func openStore(writing action: String) throws -> Store {
        LocalStore(try open(writing: action))
    }

    func apply() throws {
        if let lockTimeout { LockWait.timeoutMillis = try TimeParsing.parseDuration(lockTimeout) }
        if quiet { StandardErrorLog.quiet = true }
    }
}
