/// Records placed per target partition, and for each block of partitions
/// (all of them for round-robin, one source partition's `factor` for
/// source-partition) the emptiest one: a min-heap ordered by (records,
/// partition), so ties go to the lowest partition and the choice depends only
/// on the counts, which the checkpoint holds. That is what makes a replayed
/// chunk place every batch exactly where the interrupted one did.
struct Spread {
    private(set) var records: [Int64]
    private let blockSize: Int
    private var heaps: [[Int]]

    init(records: [Int64], blockSize: Int) {
        self.records = records
        self.blockSize = blockSize
        heaps = stride(from: 0, to: records.count, by: blockSize).map { Array($0..<min($0 + blockSize, records.count)) }
        for b in heaps.indices {
            for i in stride(from: heaps[b].count / 2 - 1, through: 0, by: -1) { siftDown(b, i) }
        }
    }

    /// The partition of `block` with the fewest records (lowest index on ties).
    @inline(__always)
    func emptiest(block: Int) -> Int { heaps[block][0] }

    /// Counts `n` more records on the emptiest partition of `block`.
    mutating func addToEmptiest(_ n: Int64, block: Int) {
        records[heaps[block][0]] += n
        siftDown(block, 0)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        records[a] < records[b] || (records[a] == records[b] && a < b)
    }

    private mutating func siftDown(_ b: Int, _ start: Int) {
        var i = start
        let count = heaps[b].count
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < count && less(heaps[b][left], heaps[b][smallest]) { smallest = left }
            if right < count && less(heaps[b][right], heaps[b][smallest]) { smallest = right }
            if smallest == i { return }
            heaps[b].swapAt(i, smallest)
            i = smallest
        }
    }
}
