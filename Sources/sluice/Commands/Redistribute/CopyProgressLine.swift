import SluiceCore
import SluiceOperations
import SluiceSystem

extension ProgressLine {
    /// Redraws the progress of a copy: records, MB, rate, ETA and the spread
    /// over the target partitions.
    func update(_ progress: CopyProgress) {
        draw { seconds in
            let rate = seconds > 0 ? Double(progress.records - progress.recordsBefore) / seconds : 0
            var text = "copied \(progress.records)"
            if let total = progress.totalRecords, total > 0 {
                text += " of \(total) records (\(min(100, progress.records * 100 / total))%)"
                if rate > 0, let eta = Int64(durationMillis: Double(total - progress.records) / rate * 1000) {
                    text += ", ETA \(TimeParsing.formatDuration(eta))"
                }
            } else {
                text += " records"
            }
            text += ", \(ByteCount.format(progress.bytes)), \(Int64(rate)) records/s"
            if let low = progress.targetRecords.min(), let high = progress.targetRecords.max() {
                text += "; per partition \(low)–\(high)"
            }
            return text
        }
    }
}
