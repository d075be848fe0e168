import SluiceCore
import SluiceOperations
import SluiceSystem

/// A progress line on stderr for export and import: bytes, records, rate
/// and ETA, redrawn in place at most five times a second. Only on a terminal
/// and never with --quiet (DESIGN.md §4).
final class ProgressLine {
    private let verb: String
    private let started = WallClock.monotonicNanos()
    private var lastDraw: UInt64 = 0
    private var drawn = false

    private init(verb: String) { self.verb = verb }

    /// The progress callback, or nil when progress is not shown.
    static func make(_ verb: String) -> (ProgressLine, (ArchiveProgress) -> Void)? {
        guard StandardStreams.errorIsTerminal, !StandardErrorLog.quiet else { return nil }
        let line = ProgressLine(verb: verb)
        return (line, { line.update($0) })
    }

    func update(_ progress: ArchiveProgress) {
        let now = WallClock.monotonicNanos()
        guard now - lastDraw >= 200_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - started) / 1e9
        let rate = seconds > 0 ? Double(progress.bytes) / seconds : 0
        var text = "\(verb) \(ByteCount.format(progress.bytes))"
        if let total = progress.totalBytes, total > 0 {
            text += " of \(ByteCount.format(total)) (\(min(100, Int(Double(progress.bytes) * 100 / Double(total))))%)"
            if rate > 0, total > progress.bytes { text += ", ETA \(TimeParsing.formatDuration(Int64(Double(total - progress.bytes) / rate * 1000)))" }
        }
        text += ", \(progress.records) records, \(ByteCount.format(Int64(rate)))/s"
        write("\r\u{1B}[K" + text)
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
