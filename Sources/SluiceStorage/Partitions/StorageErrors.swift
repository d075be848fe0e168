import SluiceCore

extension SluiceError.Reason {
    public static let corruptLog = Self("corrupt-log")
    public static let offsetOutOfRange = Self("offset-out-of-range")
    public static let readOnly = Self("read-only")
}

extension SluiceError {
    /// Damage before a partition's tail: never skipped, always named exactly.
    public static func corruption(_ partition: String, _ segment: Segment, _ problem: ScanProblem) -> SluiceError {
        .checkFailed(
            .corruptLog, "corrupt log in partition \(partition), segment \(segment.logName): \(problem)",
            remedy: "run 'sluice verify' to list every problem and 'sluice verify --repair' to truncate at the damage")
    }
}

extension SluiceError {
    /// A partition whose last entry is all there but damaged: not a write cut
    /// short, so its offsets may have been acknowledged, and appending (which
    /// would start at the end of the valid data) would give them to new records.
    public static func damagedTail(_ partition: Partition, _ segment: Segment, _ problem: ScanProblem, validEnd: Int64) -> SluiceError {
        .checkFailed(
            .corruptLog,
            """
            cannot append to partition \(partition.name): its last entry, at byte \(problem.position) of \
            \(segment.logName), is damaged, not cut short by an interrupted write (\(problem)); its records \
            from offset \(validEnd) on are unreadable, and appending would give their offsets to new records
            """,
            remedy:
                """
                run 'sluice verify \(partition.topic) --repair': it keeps the damaged bytes \
                under .sluice/repairs/ and reserves their offsets, then writes work again
                """
        )
    }
}
