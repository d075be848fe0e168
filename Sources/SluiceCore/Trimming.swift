extension StringProtocol {
    /// The text without the given characters at either end (Foundation's
    /// trimmingCharacters, without Foundation).
    public func trimming(_ characters: Set<Character>) -> SubSequence {
        var text = self[...]
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return text
    }
}
