import SluiceCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How long lock acquisitions wait before giving up. Commands set the
/// process-wide value from `--lock-timeout`; the default waits a few seconds.
public enum LockWait {
    nonisolated(unsafe) public static var timeoutMillis: Int64 = 10_000
}

/// An advisory `flock` held on a file or directory. The kernel drops it when
/// the process dies, so a killed process never leaves a stale lock behind.
public final class FileLock {
    public let file: File
    public let what: String
    private var held = true

    private init(file: File, what: String) {
        self.file = file
        self.what = what
    }

    deinit { if held { file.unlock() } }

    /// Acquires a lock on `path` (created if `create` and absent), waiting up to
    /// `timeoutMillis` (default `LockWait.timeoutMillis`). `what` names the
    /// locked object in the error, e.g. "partition orders-3".
    public static func acquire(
        _ path: String, kind: File.LockKind = .exclusive, what: String,
        create: Bool = true, directory: Bool = false,
        timeoutMillis: Int64? = nil
    ) throws -> FileLock {
        let file = try openLockable(path, create: create, directory: directory)
        let deadline = WallClock.monotonicNanos() + UInt64(max(0, timeoutMillis ?? LockWait.timeoutMillis)) * 1_000_000
        var pause: UInt32 = 50
        while true {
            if try file.tryLock(kind) { return FileLock(file: file, what: what) }
            let now = WallClock.monotonicNanos()
            if now >= deadline {
                let holders = try LockHolders.pids(of: file)
                let who = holders.isEmpty ? "another process" : "process " + holders.map(String.init).joined(separator: ", ")
                throw SluiceError.failure(
                    .lockTimeout, "\(what) is locked by \(who)",
                    remedy: "wait for it to finish, or raise --lock-timeout")
            }
            usleep(min(pause, UInt32((deadline - now) / 1000) + 1))
            pause = min(pause * 2, 5_000)
        }
    }

    /// One non-blocking attempt; nil when someone else holds it.
    public static func tryAcquire(
        _ path: String, kind: File.LockKind = .exclusive, what: String,
        create: Bool = true, directory: Bool = false
    ) throws -> FileLock? {
        let file = try openLockable(path, create: create, directory: directory)
        return try file.tryLock(kind) ? FileLock(file: file, what: what) : nil
    }

    private static func openLockable(_ path: String, create: Bool, directory: Bool) throws -> File {
        if directory { return try File.open(path, .readOnly, options: [.directory, .closeOnExec]) }
        return create ? try File.openOrCreate(path) : try File.open(path, .readWrite)
    }

    public func release() {
        guard held else { return }
        held = false
        file.unlock()
    }
}

/// Finds which processes hold a `flock` on a file, from `/proc/locks`, to name
/// them in "locked by" errors and in group descriptions.
public enum LockHolders {
    public static func pids(of file: File) throws -> [Int32] {
        let st = try file.status()
        return pids(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public static func pids(ofPath path: String) -> [Int32] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        return pids(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    static func pids(device: UInt64, inode: UInt64) -> [Int32] {
        guard let text = try? FileSystem.readIfExists("/proc/locks", limit: 16 << 20) else { return [] }
        let major = (device >> 8) & 0xFFF | (device >> 32) & ~0xFFF
        let minor = device & 0xFF | (device >> 12) & ~0xFF
        var pids: [Int32] = []
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1311 0 EOF" (blocked waiters have "->").
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[2] != "->" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor,
                UInt64(id[2]) == inode, let pid = Int32(fields[4])
            else { continue }
            if !pids.contains(pid) { pids.append(pid) }
        }
        return pids
    }
}

extension SluiceError.Reason {
    public static let lockTimeout = Self("lock-timeout")
}
