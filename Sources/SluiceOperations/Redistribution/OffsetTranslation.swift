/// Where each migrated group resumes in the new topic, found while copying.
///
/// The rule: in each target partition q, a group resumes at the smallest
/// target offset holding a record whose source offset is at or after the
/// group's committed offset on that record's source partition (the first
/// record there the group had not consumed), or at q's end when q holds none.
/// Records from one source partition reach q in their source order, so every
/// record before that offset was consumed: nothing unconsumed is skipped.
/// Records after it that the group had consumed (from other source
/// partitions) are delivered again: duplicates, never gaps.
///
/// Target offsets only grow, so the first such record placed in q is the
/// smallest: one comparison per placed batch or record and group.
struct OffsetTranslation {
    /// Per group, per source partition: the committed offset (nothing below it is unconsumed).
    private let committed: [[Int64]]
    /// Per group, per target partition: the translated offset once found.
    private var found: [[Int64?]]

    init(_ record: RedistributionRecord) {
        let sources = record.sources.count
        committed = record.migratedGroups.map { group in (0..<sources).map { group.committed[$0] ?? 0 } }
        found = record.migratedGroups.map { group in (0..<record.targetPartitions).map { group.translated[$0] } }
    }

    /// Records `[firstOffset, lastOffset]` of source partition `p` placed in
    /// target partition `q` from target offset `targetOffset`, offsets mapped
    /// one to one (a whole batch keeps its offset deltas).
    @inline(__always)
    mutating func observe(_ p: Int, firstOffset: Int64, lastOffset: Int64, target q: Int, at targetOffset: Int64) {
        for g in committed.indices where found[g][q] == nil && lastOffset >= committed[g][p] {
            found[g][q] = targetOffset + max(0, committed[g][p] - firstOffset)
        }
    }

    func store(into record: inout RedistributionRecord) {
        for g in record.migratedGroups.indices {
            for (q, offset) in found[g].enumerated() { if let offset { record.migratedGroups[g].translated[q] = offset } }
        }
    }
}
