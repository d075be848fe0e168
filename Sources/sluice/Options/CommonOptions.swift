import ArgumentParser
import SluiceCore
import SluiceLocal
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Options every command that touches a data directory takes.
struct CommonOptions: ParsableArguments {
    /// The data directory this process opened, for messages about it (a full disk).
    nonisolated(unsafe) static var opened: String?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "The data directory (default: $SLUICE_DATA_DIR, else $XDG_DATA_HOME/sluice or ~/.local/share/sluice).", valueName: "path"))
    var dataDir: String?

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

    /// Opens the store for a command that writes (see `open(writing:)`).
    func openStore(writing action: String) throws -> Store {
        LocalStore(try open(writing: action))
    }

    func apply() throws {
        if let lockTimeout { LockWait.timeoutMillis = try TimeParsing.parseDuration(lockTimeout) }
        if quiet { StandardErrorLog.quiet = true }
    }
}
