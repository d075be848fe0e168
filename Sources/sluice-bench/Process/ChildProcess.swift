import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

extension SluiceError.Reason {
    static let benchCommandFailed = SluiceError.Reason("bench-command-failed")
    static let benchInterrupted = SluiceError.Reason("bench-interrupted")
}

/// A command line the harness runs, with where its standard streams go.
/// The program is looked up in PATH; stdout and stderr default to /dev/null
/// and a capture file, so output never disturbs what is measured.
struct Command: Sendable, Equatable {
    var arguments: [String]
    var standardInput: String? = nil
    var standardOutput: String = "/dev/null"
    /// Variables added to (or, with a nil value, removed from) the harness's environment.
    var environment: [String: String?] = [:]

    init(
        _ arguments: [String], standardInput: String? = nil, standardOutput: String = "/dev/null",
        environment: [String: String?] = [:]
    ) {
        self.arguments = arguments
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.environment = environment
    }

    /// The command as a shell user would type it, for reports and errors.
    var display: String {
        let unset = environment.filter { $0.value == nil }.keys.sorted().map { "env -u \($0) " }.joined()
        let set = environment.compactMap { name, value in value.map { "\(name)=\(Command.quoted($0)) " } }.sorted().joined()
        var text = unset + set + arguments.map(Command.quoted).joined(separator: " ")
        if let standardInput { text += " < " + Command.quoted(standardInput) }
        text += " > " + Command.quoted(standardOutput)
        return text
    }

    private static func quoted(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "-_./=:@%+,".utf8.contains(c)
        }
        return safe && !word.isEmpty ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }
}

/// What one finished child cost: wall time, CPU time and peak memory, from
/// `wait4`'s resource usage of exactly that child (and the children it waited for).
struct Sample: Sendable, Equatable {
    var wallSeconds: Double
    var cpuSeconds: Double
    var peakRSSBytes: Int64
}

/// Spawning and waiting for child processes. One child is measured at a time;
/// on SIGINT/SIGTERM the harness forwards SIGTERM to it and stops with an error.
enum ChildProcess {
    /// Runs `command` to completion and measures it; throws if it exits non-zero.
    /// Its stderr goes to `errorLog` and is quoted in the error.
    static func measure(_ command: Command, errorLog: String) throws -> Sample {
        let started = monotonicSeconds()
        let pid = try spawn(command, errorLog: errorLog)
        let (status, usage) = try waitReportingInterruption(pid, command: command)
        let wall = monotonicSeconds() - started
        try check(status, command: command, errorLog: errorLog)
        return Sample(
            wallSeconds: wall, cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            peakRSSBytes: Int64(usage.ru_maxrss) * 1024)
    }

    /// Runs `command` and returns its standard output (at most 1 MiB), for set-up steps.
    static func output(of command: Command, scratch: String) throws -> String {
        var capturing = command
        capturing.standardOutput = scratch + "/captured-stdout"
        _ = try measure(capturing, errorLog: scratch + "/captured-stderr")
        let bytes = try FileSystem.readIfExists(capturing.standardOutput, limit: 1 << 20) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Starts a long-lived child (a broker) in its own process group, so a Ctrl-C
    /// at the terminal reaches the harness first and the harness stops it in order.
    static func start(_ command: Command, errorLog: String) throws -> pid_t {
        try spawn(command, errorLog: errorLog, ownProcessGroup: true)
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL; always reaps.
    static func stop(_ pid: pid_t, grace: Double = 3) {
        kill(pid, SIGTERM)
        let deadline = monotonicSeconds() + grace
        var status: Int32 = 0
        while monotonicSeconds() < deadline {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// Whether a started child is still running (reaping it if it has exited).
    static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The directories of PATH that hold an executable `name`, first match.
    static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    // MARK: - Internals

    private static func spawn(_ command: Command, errorLog: String, ownProcessGroup: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, command.standardInput ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, command.standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorLog, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownProcessGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        let argv = command.arguments.map { strdup($0) } + [nil]
        let envp = environment(with: command.environment).map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command.arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SluiceError(
                .failure, .benchCommandFailed,
                "cannot start '\(command.arguments[0])': \(String(cString: strerror(result)))",
                remedy: "install it or put it on PATH")
        }
        return pid
    }

    private static func environment(with changes: [String: String?]) -> [String] {
        var result: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            let name = String(text.prefix(while: { $0 != "=" }))
            if changes[name] == nil { result.append(text) }
            entry += 1
        }
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) {
            if let value { result.append("\(name)=\(value)") }
        }
        return result
    }

    /// Waits for `pid`. A signal to the harness interrupts `wait4` (its handler
    /// is installed without SA_RESTART): the child is told to stop, reaped, and
    /// the run ends with an error naming what was running.
    private static func waitReportingInterruption(_ pid: pid_t, command: Command) throws -> (Int32, rusage) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 {
            guard errno == EINTR else { throw SluiceError(.failure, .benchCommandFailed, "wait4 failed for '\(command.display)'") }
            if Interruption.requested { kill(pid, SIGTERM) }
        }
        if Interruption.requested {
            throw SluiceError(.failure, .benchInterrupted, "interrupted by \(Interruption.signalName) while running '\(command.display)'")
        }
        return (status, usage)
    }

    private static func check(_ status: Int32, command: Command, errorLog: String) throws {
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard !exited || code != 0 else { return }
        let stderr = (try? FileSystem.readIfExists(errorLog, limit: 4096)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let lastLine = stderr.split(separator: "\n").last.map(String.init) ?? "(no message on stderr)"
        let how = exited ? "exited with status \(code)" : "was killed by signal \(status & 0x7f)"
        throw SluiceError(.failure, .benchCommandFailed, "'\(command.display)' \(how): \(lastLine)")
    }

    private static func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
}
