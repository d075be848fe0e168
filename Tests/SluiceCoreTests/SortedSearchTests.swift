import SluiceCore
import Testing

@Suite struct SortedSearchTests {
    @Test func emptyCollection() {
        let empty: [Int] = []
        #expect(empty.partitioningIndex { $0 > 3 } == 0)
        #expect(empty.lastIndex(atOrBefore: 3, by: { $0 }) == nil)
    }

    @Test func everyElementBeforeTheTarget() {
        let values = [1, 2, 3]
        #expect(values.partitioningIndex { $0 > 10 } == 3)
        #expect(values.lastIndex(atOrBefore: 10, by: { $0 }) == 2)
    }

    @Test func everyElementAfterTheTarget() {
        let values = [5, 6, 7]
        #expect(values.partitioningIndex { $0 > 1 } == 0)
        #expect(values.lastIndex(atOrBefore: 1, by: { $0 }) == nil)
    }

    @Test func exactAndBetweenTargets() {
        let values = [10, 20, 30, 40]
        #expect(values.lastIndex(atOrBefore: 30, by: { $0 }) == 2)
        #expect(values.lastIndex(atOrBefore: 35, by: { $0 }) == 2)
        #expect(values.lastIndex(atOrBefore: 10, by: { $0 }) == 0)
    }

    @Test func duplicatesGiveTheLastOfTheRun() {
        let values = [1, 3, 3, 3, 5]
        #expect(values.lastIndex(atOrBefore: 3, by: { $0 }) == 3)
        #expect(values.partitioningIndex { $0 >= 3 } == 1)
        #expect(values.partitioningIndex { $0 > 3 } == 4)
    }

    @Test func keyedElementsAndSlices() {
        let pairs = [(base: 0, name: "a"), (base: 100, name: "b"), (base: 200, name: "c")]
        #expect(pairs.lastIndex(atOrBefore: 150, by: { $0.base }).map { pairs[$0].name } == "b")
        let slice = [9, 1, 2, 3, 9][1..<4]
        #expect(slice.lastIndex(atOrBefore: 2, by: { $0 }) == 2)
        #expect(slice.partitioningIndex { $0 > 5 } == slice.endIndex)
        #expect((0..<0).partitioningIndex { _ in true } == 0)
    }

    /// The probe order is the one the searches it replaced used, so an
    /// unsorted input (a damaged index file) still gives the same answer.
    @Test func matchesTheClassicLoopOnUnsortedInput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let values = (0..<Int.random(in: 0...20, using: &generator)).map { _ in Int.random(in: 0...9, using: &generator) }
            let target = Int.random(in: 0...9, using: &generator)
            var lo = 0, hi = values.count - 1
            var found: Int?
            while lo <= hi {
                let mid = (lo + hi) / 2
                if values[mid] <= target { found = mid; lo = mid + 1 } else { hi = mid - 1 }
            }
            #expect(values.lastIndex(atOrBefore: target, by: { $0 }) == found, "\(values) target \(target)")
        }
    }

    @Test func rethrowsThePredicatesError() {
        struct Failure: Error {}
        #expect(throws: Failure.self) { try [1, 2].partitioningIndex { _ in throw Failure() } }
    }
}
