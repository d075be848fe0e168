import SluiceCore

extension SluiceError.Reason {
    public static let unknownTopic = Self("unknown-topic")
    public static let topicExists = Self("topic-exists")
    public static let unknownPartition = Self("unknown-partition")
    public static let corruptLog = Self("corrupt-log")
    public static let offsetOutOfRange = Self("offset-out-of-range")
    public static let readOnly = Self("read-only")
    public static let partitionMissing = Self("partition-missing")
}

extension SluiceError {
    /// Damage before a partition's tail: never skipped, always named exactly.
    public static func corruption(_ partition: String, _ segment: Segment, _ problem: ScanProblem) -> SluiceError {
        .checkFailed(.corruptLog, "corrupt log in partition \(partition), segment \(segment.logName): \(problem)",
                     remedy: "run 'sluice verify' to list every problem and 'sluice verify --repair' to truncate at the damage")
    }
}
