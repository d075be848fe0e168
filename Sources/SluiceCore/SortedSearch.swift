/// Binary searches of sorted collections, one implementation for every
/// lookup of a sorted segment list or index file. Inlinable, so the other
/// modules' calls are specialized rather than generic.
extension RandomAccessCollection {
    /// The index of the first element for which `isInSecondPart` holds, or
    /// `endIndex` if none does, where it is false for a prefix of the
    /// collection and true for the rest: O(log n) calls of the predicate.
    ///
    /// It probes the midpoints in a fixed order (low + high) / 2, so even on
    /// a collection that breaks the precondition (a damaged index file) its
    /// answer is one deterministic function of the elements.
    @inlinable
    public func partitioningIndex(where isInSecondPart: (Element) throws -> Bool) rethrows -> Index {
        var low = 0, high = count - 1
        while low <= high {
            let middle = low + (high - low) / 2
            if try isInSecondPart(self[index(startIndex, offsetBy: middle)]) { high = middle - 1 } else { low = middle + 1 }
        }
        return index(startIndex, offsetBy: low)
    }

    /// The index of the last element whose `key` is at most `target`, or nil
    /// if every key is above it, in a collection sorted by `key`.
    @inlinable
    public func lastIndex<Key: Comparable>(atOrBefore target: Key, by key: (Element) throws -> Key) rethrows -> Index? {
        let after = try partitioningIndex { try key($0) > target }
        return after == startIndex ? nil : index(after, offsetBy: -1)
    }
}
