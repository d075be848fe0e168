import KafkaFormat
import SluiceCore

/// Kafka's rule for which batches get index entries (LogSegment.append and
/// LogSegment.recover): a batch gets an `.index` entry (its last offset, its
/// position) when more than `index.interval.bytes` lie between the previous
/// entry's position and its own; at the same moment the `.timeindex` gets the
/// running maximum timestamp if it grew. A sealed segment also gets a final
/// time entry for its maximum. The appender, recovery, `verify` and index
/// rebuilds all use this one type, so they agree byte for byte.
public struct SegmentIndexer: Sendable {
    public let baseOffset: Int64
    public let interval: Int64
    public private(set) var lastEntryPosition: Int64 = 0
    public private(set) var maxTimestamp: Int64 = -1
    public private(set) var offsetOfMaxTimestamp: Int64 = -1
    public private(set) var lastTimeEntryTimestamp: Int64?

    public init(baseOffset: Int64, interval: Int64) {
        self.baseOffset = baseOffset
        self.interval = interval
    }

    /// Resumes after existing entries: the last offset entry's position and the
    /// last time entry (whose timestamp is the running maximum at that point).
    public init(baseOffset: Int64, interval: Int64, lastOffsetEntry: OffsetIndexEntry?, lastTimeEntry: TimeIndexEntry?) {
        self.init(baseOffset: baseOffset, interval: interval)
        lastEntryPosition = Int64(lastOffsetEntry?.position ?? 0)
        if let lastTimeEntry {
            maxTimestamp = lastTimeEntry.timestamp
            offsetOfMaxTimestamp = baseOffset + Int64(lastTimeEntry.relativeOffset)
            lastTimeEntryTimestamp = lastTimeEntry.timestamp
        }
    }

    /// Accounts for a batch at `position`; returns the entries it earns.
    public mutating func observe(position: Int64, lastOffset: Int64, maxTimestamp batchMax: Int64)
        -> (offset: OffsetIndexEntry?, time: TimeIndexEntry?)
    {
        if batchMax > maxTimestamp {
            maxTimestamp = batchMax
            offsetOfMaxTimestamp = lastOffset
        }
        guard position - lastEntryPosition > interval else { return (nil, nil) }
        lastEntryPosition = position
        // Clamped, not converted: a batch's base offset is outside its CRC, so
        // a damaged one may not fit the segment. Scans flag that batch as a
        // discontinuity (writers refuse, `--repair` cuts it), so its entry is never used.
        let offsetEntry = OffsetIndexEntry(
            relativeOffset: Int32(clamping: lastOffset.subtractingSaturated(baseOffset)), position: Int32(position))
        return (offsetEntry, timeEntryIfGrown())
    }

    /// The entry a segment gets when it is sealed (rolled), if its maximum grew.
    public mutating func finalTimeEntry() -> TimeIndexEntry? { timeEntryIfGrown() }

    private mutating func timeEntryIfGrown() -> TimeIndexEntry? {
        guard maxTimestamp >= 0, lastTimeEntryTimestamp.map({ maxTimestamp > $0 }) ?? true else { return nil }
        lastTimeEntryTimestamp = maxTimestamp
        return TimeIndexEntry(
            timestamp: maxTimestamp, relativeOffset: Int32(clamping: offsetOfMaxTimestamp.subtractingSaturated(baseOffset)))
    }
}
