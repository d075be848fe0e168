import SluiceCore
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The syscalls sluice makes, by name, so a test can make any of them fail.
public enum Syscall: String, Sendable, CaseIterable {
    case open, close, read, write, fsync, fdatasync, ftruncate, fstat, lstat, flock
    case rename, mkdir, unlink, rmdir, readdir, statvfs, fallocate
}

/// Deterministic fault injection for the syscall wrappers.
///
/// Unit tests install rules directly; end-to-end tests set `SLUICE_FAULTS`
/// in a child's environment, e.g. `write:ENOSPC:after=3` (the fourth and later
/// `write` calls fail with ENOSPC) or `fsync:EIO:after=0:path=.log`. Several
/// rules are separated by `;`. Without rules the check is one load and a branch.
///
/// `KILL` in place of an errno makes the process SIGKILL itself instead of
/// making the call, and `any` in place of a syscall matches every call: crash
/// tests use `any:KILL:after=N` to die just before the (N+1)-th syscall, a
/// reproducible crash point (the disk only changes at syscalls). `STOP`
/// makes it SIGSTOP itself there and, once continued, make the call: a test
/// can then deliver a signal at an exact point of the work.
public enum FaultInjection {
    public struct Rule: Sendable {
        /// nil matches every syscall.
        public var call: Syscall?
        public var errno: Errno
        /// The process kills itself (SIGKILL) instead of failing the call.
        public var kills = false
        /// The process stops itself (SIGSTOP), then makes the call.
        public var stops = false
        /// Calls that succeed before the rule starts failing.
        public var after: Int
        /// How many calls fail once it starts (nil: all of them).
        public var times: Int?
        /// Only calls on paths containing this substring.
        public var pathContains: String?

        public init(call: Syscall?, errno: Errno, kills: Bool = false, after: Int = 0, times: Int? = nil, pathContains: String? = nil) {
            self.call = call
            self.errno = errno
            self.kills = kills
            self.after = after
            self.times = times
            self.pathContains = pathContains
        }
    }

    /// The rules in force and how many calls each has matched.
    private struct Installed {
        var rules: [Rule]
        var counts: [Int]

        init(_ rules: [Rule]) {
            self.rules = rules
            counts = Array(repeating: 0, count: rules.count)
        }
    }

    private static let installed = Mutex(Installed(loadFromEnvironment()))
    /// Read without the lock: the fast path of every syscall when no rule is installed.
    nonisolated(unsafe) private static var active = installed.withLock { !$0.rules.isEmpty }

    public static func install(_ newRules: [Rule]) {
        installed.withLock {
            $0 = Installed(newRules)
            active = !newRules.isEmpty
        }
    }

    public static func reset() { install([]) }

    /// Throws the injected errno if a rule matches this call.
    @inline(__always)
    static func check(_ call: Syscall, path: String) throws(Errno) {
        guard active else { return }
        try slowCheck(call, path: path)
    }

    @inline(never)
    private static func slowCheck(_ call: Syscall, path: String) throws(Errno) {
        let failure: Errno? = installed.withLock { installed in
            let rules = installed.rules
            for i in rules.indices where rules[i].call.map({ $0 == call }) ?? true {
                if let needle = rules[i].pathContains, !path.contains(needle) { continue }
                installed.counts[i] += 1
                let n = installed.counts[i] - rules[i].after
                guard n >= 1, rules[i].times.map({ n <= $0 }) ?? true else { continue }
                if rules[i].kills { kill(getpid(), SIGKILL) }
                if rules[i].stops {
                    kill(getpid(), SIGSTOP)
                    continue
                }
                return rules[i].errno
            }
            return nil
        }
        if let failure { throw failure }
    }

    private static func loadFromEnvironment() -> [Rule] {
        guard let spec = getenv("SLUICE_FAULTS").map({ String(cString: $0) }), !spec.isEmpty else { return [] }
        return spec.split(separator: ";").compactMap { parseRule(String($0)) }
    }

    static func parseRule(_ text: String) -> Rule? {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count >= 2, parts[0] == "any" || Syscall(rawValue: parts[0]) != nil else { return nil }
        let kills = parts[1] == "KILL", stops = parts[1] == "STOP"
        guard let errno = kills || stops ? .ioError : errnoNamed(parts[1]) else { return nil }
        var rule = Rule(call: Syscall(rawValue: parts[0]), errno: errno, kills: kills)
        rule.stops = stops
        for option in parts.dropFirst(2) {
            let kv = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "after": rule.after = Int(kv[1]) ?? 0
            case "times": rule.times = Int(kv[1])
            case "path": rule.pathContains = kv[1]
            default: break
            }
        }
        return rule
    }

    private static func errnoNamed(_ name: String) -> Errno? {
        switch name {
        case "ENOSPC": return .noSpace
        case "EDQUOT": return .diskQuotaExceeded
        case "EIO": return .ioError
        case "EINTR": return .interrupted
        case "EACCES": return .permissionDenied
        case "EROFS": return .readOnlyFileSystem
        case "ENOENT": return .noSuchFileOrDirectory
        default: return nil
        }
    }
}

extension Errno {
    /// Converts a failed syscall into the error users see: the operation, the
    /// path, the system's reason, and for full disks what to do.
    /// `needed` is what the operation had left to write, for a full disk.
    public func sluiceError(_ operation: String, _ path: String, needed: Int64? = nil) -> SluiceError {
        switch self {
        case .noSpace, .diskQuotaExceeded:
            let free = FileSystem.freeBytes(near: path).map { " (\(ByteCount.format($0)) free)" } ?? ""
            var error = SluiceError.failure(
                .noSpace, "cannot \(operation) \(path): \(self == .noSpace ? "no space left on device" : "disk quota exceeded")\(free)",
                remedy: "free space on the file system holding \(path) and run the command again")
            error.neededBytes = needed
            error.fullPath = path
            return error
        case .readOnlyFileSystem:
            return .failure(.io, "cannot \(operation) \(path): read-only file system")
        case .permissionDenied, .notPermitted:
            return .failure(.io, "cannot \(operation) \(path): permission denied", remedy: "check the owner and mode of the data directory")
        case .noSuchFileOrDirectory:
            return .failure(.notFound, "cannot \(operation) \(path): no such file or directory")
        case .brokenPipe:
            return .failure(.brokenPipe, "cannot \(operation) \(path): the reader has gone away")
        default:
            return .failure(.io, "cannot \(operation) \(path): \(self.description.lowercased())")
        }
    }
}

extension SluiceError.Reason {
    public static let notFound = Self("not-found")
    public static let brokenPipe = Self("broken-pipe")
}

/// Human-readable byte counts for messages and tables.
public enum ByteCount {
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }
}
