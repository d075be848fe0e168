import SluiceCore

/// Kafka's topic naming rules, which also keep every name inside the data
/// directory: ASCII letters, digits, `.`, `_` and `-`, at most 249 characters,
/// never `.` or `..`.
public enum TopicName {
    public static let maxLength = 249
    /// Topics whose names start with this are sluice's or Kafka's own.
    public static let internalPrefix = "__"

    public static func validate(_ name: String, allowInternal: Bool = false) throws {
        guard !name.isEmpty else { throw invalid(name, "it is empty") }
        guard name.utf8.count <= maxLength else { throw invalid(name, "it is longer than \(maxLength) characters") }
        guard name != "." && name != ".." else { throw invalid(name, "'.' and '..' are not topic names") }
        guard name.utf8.allSatisfy(isLegal) else {
            throw invalid(name, "only ASCII letters, digits, '.', '_' and '-' are allowed")
        }
        if !allowInternal && name.hasPrefix(internalPrefix) {
            throw invalid(name, "names starting with '\(internalPrefix)' are reserved for internal topics")
        }
    }

    /// Refuses to let `action` write to an internal topic: their records are
    /// sluice's own (a group's offsets and history), and a user's write or
    /// delete would corrupt or erase them. Reading them is fine.
    public static func requireUserTopic(
        _ name: String, for action: String, never what: String = "writes to",
        remedy: String = "name a topic of your own"
    ) throws {
        guard name.hasPrefix(internalPrefix) else { return }
        throw SluiceError.usage(.invalidArgument, "\(action) never \(what) the internal topic '\(name.printable)'", remedy: remedy)
    }

    /// Kafka refuses topics whose names differ only by '.' versus '_' because
    /// their metric names collide; sluice keeps the rule so names stay portable.
    public static func collides(_ a: String, _ b: String) -> Bool {
        a != b && a.replacingDots == b.replacingDots
    }

    static func isLegal(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 45
    }

    private static func invalid(_ name: String, _ why: String) -> SluiceError {
        .usage(.invalidName, "invalid topic name '\(name.printable)': \(why)")
    }

    /// Splits a partition directory name `<topic>-<N>` (topic names may contain '-').
    public static func parsePartitionDirectory(_ name: String) -> (topic: String, partition: Int)? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let topic = String(name[..<dash])
        let digits = name[name.index(after: dash)...]
        guard !topic.isEmpty, !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let partition = Int(digits), (try? validate(topic, allowInternal: true)) != nil
        else { return nil }
        return (topic, partition)
    }
}

extension SluiceError.Reason {
    public static let invalidName = Self("invalid-name")
}

extension String {
    fileprivate var replacingDots: String { String(map { $0 == "." ? "_" : $0 }) }
}
