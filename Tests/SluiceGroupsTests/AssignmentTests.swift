import SluiceGroups
import SluiceStore
import Testing

/// The fair, sticky split every dynamic member computes for itself.
@Suite struct AssignmentTests {
    func counts(_ result: [String: [Int]]) -> [Int] { result.values.map(\.count).sorted() }

    @Test func everyPartitionOnceAndFairShares() {
        for (partitions, members) in [(30, 30), (30, 7), (5, 8), (1, 1), (100, 3)] {
            let ids = (0..<members).map { "m\($0)" }
            let result = Assignment.assign(partitions: Array(0..<partitions), members: ids, owners: [:])
            #expect(result.values.flatMap { $0 }.sorted() == Array(0..<partitions))
            #expect(counts(result).last! - counts(result).first! <= 1)
            #expect(Set(result.keys) == Set(ids))
        }
    }

    @Test func membersKeepWhatTheyHoldUpToTheirShare() {
        // m0 held everything; m1 joins: m0 keeps the lower half of what it holds, m1 gets the rest.
        let owners = Dictionary(uniqueKeysWithValues: (0..<6).map { ($0, "m0") })
        let result = Assignment.assign(partitions: Array(0..<6), members: ["m0", "m1"], owners: owners)
        #expect(result == ["m0": [0, 1, 2], "m1": [3, 4, 5]])
        // A member dies: its partitions go to the others, who keep theirs.
        let before = ["a": [0, 3], "b": [1, 4], "c": [2, 5]]
        var held: [Int: String] = [:]
        for (member, partitions) in before { for p in partitions where member != "b" { held[p] = member } }
        let after = Assignment.assign(partitions: Array(0..<6), members: ["a", "c"], owners: held)
        #expect(Set(after["a"]!).isSuperset(of: [0, 3]) && Set(after["c"]!).isSuperset(of: [2, 5]))
        #expect(counts(after) == [3, 3])
    }

    @Test func everyMemberComputesTheSameSplitFromAnyOrder() {
        let owners = [0: "x", 1: "y", 7: "gone"]
        let a = Assignment.assign(partitions: [3, 1, 2, 0, 7, 5, 4, 6], members: ["y", "x", "z"], owners: owners)
        let b = Assignment.assign(partitions: Array(0..<8), members: ["z", "x", "y", "x"], owners: owners)
        #expect(a == b)
        #expect(a["x"]!.contains(0) && a["y"]!.contains(1))
    }

    @Test func noMembersNoAssignment() {
        #expect(Assignment.assign(partitions: [0, 1], members: [], owners: [:]).isEmpty)
    }
}
