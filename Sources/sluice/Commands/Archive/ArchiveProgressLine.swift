import SluiceCore
import SluiceOperations
import SluiceSystem

extension ProgressLine {
    /// The progress of an export, import or archive check (bytes, records,
    /// rate and ETA) and its callback, or nil when progress is not shown.
    static func archive(_ verb: String) -> (ProgressLine, (ArchiveProgress) -> Void)? {
        guard let line = make() else { return nil }
        return (line, { progress in line.draw { Self.text(verb, progress, seconds: $0) } })
    }

    private static func text(_ verb: String, _ progress: ArchiveProgress, seconds: Double) -> String {
        let rate = seconds > 0 ? Double(progress.bytes) / seconds : 0
        var text = "\(verb) \(ByteCount.format(progress.bytes))"
        if let total = progress.totalBytes, total > 0 {
            text += " of \(ByteCount.format(total)) (\(min(100, Int(Double(progress.bytes) * 100 / Double(total))))%)"
            if rate > 0, total > progress.bytes, let eta = Int64(durationMillis: Double(total - progress.bytes) / rate * 1000) {
                text += ", ETA \(TimeParsing.formatDuration(eta))"
            }
        }
        return text + ", \(progress.records) records, \(ByteCount.format(Int64(rate)))/s"
    }
}
