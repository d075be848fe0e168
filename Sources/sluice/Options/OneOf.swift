import ArgumentParser

/// The value of an option that names one of `Value`'s cases. Help and shell
/// completions list the cases, but the parser takes any word: the command
/// turns it into a case (`value(or:)`), so that a wrong word is refused in the
/// command's own words and at the point it always was, not with the parser's
/// generic message.
struct OneOf<Value: CaseIterable & RawRepresentable>: ExpressibleByArgument where Value.RawValue == String {
    /// The word as given.
    let word: String

    init(_ value: Value) { word = value.rawValue }
    init(argument: String) { word = argument }

    static var allValueStrings: [String] { Value.allCases.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    var defaultValueDescription: String { word }

    /// The case the word names; `error` when it names none.
    func value(or error: @autoclosure () -> Error) throws -> Value {
        guard let value = Value(rawValue: word) else { throw error() }
        return value
    }
}
