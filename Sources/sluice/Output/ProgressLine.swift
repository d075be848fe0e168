import SluiceCore
import SluiceSystem

/// A progress line on stderr, redrawn in place at most five times a second.
/// Only on a terminal and never with --quiet (docs/ARCHITECTURE.md §5).
final class ProgressLine {
    private let started = WallClock.monotonicNanos()
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// A line, or nil when progress is not shown.
    static func make() -> ProgressLine? {
        StandardStreams.errorIsTerminal && !StandardErrorLog.quiet ? ProgressLine() : nil
    }

    /// Redraws the line with `text(seconds since the start)`, unless it was
    /// drawn less than 200 ms ago.
    func draw(_ text: (Double) -> String) {
        let now = WallClock.monotonicNanos()
        guard now - lastDraw >= 200_000_000 else { return }
        lastDraw = now
        write("\r\u{1B}[K" + text(Double(now - started) / 1e9))
        drawn = true
    }

    /// Erases the line before the final message.
    func clear() {
        if drawn { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = try? bytes.withUnsafeMutableBytes { try StandardStreams.error.write(UnsafeRawBufferPointer($0)) }
    }
}
