#if canImport(Glibc)
import Glibc
#endif

/// Where libraries report things a user must know but that are not errors:
/// a torn batch dropped by recovery, a target clamped to the log's range. The
/// default sink prints `warning: ...` on stderr; tests capture them per task.
public enum Diagnostics {
    nonisolated(unsafe) public static var sink: (String) -> Void = { StandardErrorLog.line("warning: \($0)") }

    /// A sink for the current task only, ahead of `sink`: a test captures its
    /// own warnings while other tests in the process warn too.
    @TaskLocal public static var taskSink: (@Sendable (String) -> Void)?

    public static func warn(_ message: String) { (taskSink ?? sink)(message) }

    /// Runs `body` with warnings dropped, for a first pass whose warnings a
    /// second pass repeats. It swaps the process-wide `sink` (the command
    /// line runs such passes on its one thread), not `taskSink`: binding a
    /// task-local outside any task crashes the Swift 6.3 runtime.
    public static func silenced<T>(_ body: () throws -> T) rethrows -> T {
        let saved = sink
        sink = { _ in }
        defer { sink = saved }
        return try body()
    }
}

/// Lines on stderr, each written with one `write(2)` so lines from concurrent
/// processes sharing a log file do not interleave. When stderr is not a
/// terminal (cron, systemd), each line starts with an ISO-8601 timestamp.
public enum StandardErrorLog {
    nonisolated(unsafe) public static var timestamps = isatty(2) != 1
    /// Set by `--quiet`: progress and notices are dropped; warnings and errors are not.
    nonisolated(unsafe) public static var quiet = false

    public static func line(_ text: String) {
        let stamped = timestamps ? TimeParsing.formatISO8601(WallClock.nowMillis()) + " " + text : text
        var bytes = Array((stamped + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
        bytes.removeAll()
    }

    /// An informational line, suppressed by `--quiet`.
    public static func notice(_ text: String) {
        if !quiet { line(text) }
    }
}
