import ArgumentParser
import SluiceCore
import SluiceStorage
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Options every command that touches a data directory takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"),
            help: ArgumentHelp("The data directory (default: $SLUICE_DATA_DIR, else ~/.local/share/sluice).", valueName: "path"))
    var dataDir: String?

    @Option(name: .customLong("lock-timeout"),
            help: ArgumentHelp("How long to wait for a lock held by another process before failing (default 10s).", valueName: "duration"))
    var lockTimeout: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print no progress or notices on stderr (errors and warnings still print).")
    var quiet = false

    /// The data directory path in effect.
    var path: String {
        if let dataDir { return dataDir }
        if let env = getenv("SLUICE_DATA_DIR").map({ String(cString: $0) }), !env.isEmpty { return env }
        let base = getenv("XDG_DATA_HOME").map { String(cString: $0) } ?? ((getenv("HOME").map { String(cString: $0) } ?? ".") + "/.local/share")
        return base + "/sluice"
    }

    /// Applies process-wide settings and opens the data directory.
    func open() throws -> DataDirectory {
        try apply()
        return try DataDirectory.open(path)
    }

    func apply() throws {
        if let lockTimeout { LockWait.timeoutMillis = try TimeParsing.parseDuration(lockTimeout) }
        if quiet { StandardErrorLog.quiet = true }
    }
}
