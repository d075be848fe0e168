import SluiceCore
import SluiceOperations
import SluiceSystem

/// The progress line of a copy on stderr: records, MB, rate, ETA and the
/// spread over the target partitions, redrawn in place at most five times a
/// second. Only on a terminal and never with --quiet (DESIGN.md §4).
final class CopyProgressLine {
    private let started = WallClock.monotonicNanos()
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// A line, or nil when progress is not shown.
    static func make() -> CopyProgressLine? {
        StandardStreams.errorIsTerminal && !StandardErrorLog.quiet ? CopyProgressLine() : nil
    }

    func update(_ progress: CopyProgress) {
        let now = WallClock.monotonicNanos()
        guard now - lastDraw >= 200_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - started) / 1e9
        let rate = seconds > 0 ? Double(progress.records - progress.recordsBefore) / seconds : 0
        var text = "copied \(progress.records)"
        if let total = progress.totalRecords, total > 0 {
            text += " of \(total) records (\(min(100, progress.records * 100 / total))%)"
            if rate > 0 { text += ", ETA \(TimeParsing.formatDuration(Int64(Double(total - progress.records) / rate * 1000)))" }
        } else {
            text += " records"
        }
        text += ", \(ByteCount.format(progress.bytes)), \(Int64(rate)) records/s"
        if let low = progress.targetRecords.min(), let high = progress.targetRecords.max() {
            text += "; per partition \(low)–\(high)"
        }
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
