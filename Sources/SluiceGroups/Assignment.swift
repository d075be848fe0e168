/// How a group's dynamic members split a topic's partitions: fairly (each
/// gets ⌊P/n⌋ or ⌈P/n⌉) and stickily (a member keeps what it holds, up to its
/// share). Every member computes it from the same inputs — the live members
/// and the current lease holders — so they agree without talking; leases are
/// exclusive, so a member only ever takes partitions that are free.
public enum Assignment {
    /// - Parameters:
    ///   - partitions: the partitions to split (pinned members' ones excluded).
    ///   - members: the live dynamic members' ids.
    ///   - owners: who holds each partition's lease now (holders that are not members are ignored).
    /// - Returns: each member's partitions, ascending.
    public static func assign(partitions: [Int], members: [String], owners: [Int: String]) -> [String: [Int]] {
        let members = Array(Set(members)).sorted()
        guard !members.isEmpty else { return [:] }
        let partitions = Array(Set(partitions)).sorted()
        let memberSet = Set(members)
        var held: [String: [Int]] = [:]
        for p in partitions { if let owner = owners[p], memberSet.contains(owner) { held[owner, default: []].append(p) } }
        // The members holding most get the extra partitions the division leaves.
        let byHoldings = members.sorted { a, b in
            let (ca, cb) = (held[a]?.count ?? 0, held[b]?.count ?? 0)
            return ca != cb ? ca > cb : a < b
        }
        let base = partitions.count / members.count, extra = partitions.count % members.count
        var quota: [String: Int] = [:]
        for (rank, member) in byHoldings.enumerated() { quota[member] = base + (rank < extra ? 1 : 0) }
        var result: [String: [Int]] = [:]
        var taken = Set<Int>()
        for member in members {
            let kept = Array((held[member] ?? []).prefix(quota[member]!))
            result[member] = kept
            taken.formUnion(kept)
        }
        var free = partitions.filter { !taken.contains($0) }[...]
        for member in members {
            while result[member]!.count < quota[member]!, let p = free.popFirst() { result[member]!.append(p) }
            result[member]!.sort()
        }
        return result
    }
}
