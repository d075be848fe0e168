import SluiceCore
import SluiceStore

/// The one way a group's offsets are moved (seek, rollback, delete): plan
/// the change; to apply it, hold the group still, plan again under the hold
/// (the first plan may be stale by then), claim the partitions it changes,
/// and commit it in one step.
public enum GroupOffsetChange {
    public struct Outcome: Sendable {
        public var plan: OffsetPlan
        public var executed: Bool
        /// Whether consumers were running in the group when a dry run planned.
        public var groupWasActive: Bool
    }

    /// Plans the change and, when `execute`, applies it. `check` runs before
    /// each plan is made, told whether the change is being applied (a saved
    /// plan's staleness: a warning in a dry run, an error otherwise).
    public static func run(
        _ store: Store, group: String, execute: Bool, force: Bool = false, waitMillis: Int64? = nil,
        check: (Bool) throws -> Void = { _ in }, plan makePlan: () throws -> OffsetPlan
    ) throws -> Outcome {
        guard execute else {
            let active = try store.isActive(group)
            try check(false)
            return Outcome(plan: try makePlan(), executed: false, groupWasActive: active)
        }
        // Bad input must change nothing: a first plan, before the group is
        // held, finds unknown topics and partitions; its warnings wait for
        // the plan made under the hold.
        _ = try Diagnostics.silenced(makePlan)
        let hold = try store.holdStill(group, force: force, waitMillis: waitMillis)
        defer { hold.release() }
        try check(true)
        let plan = try makePlan()
        try hold.claim(plan.scope)
        try plan.apply(store)
        return Outcome(plan: plan, executed: true, groupWasActive: false)
    }
}
