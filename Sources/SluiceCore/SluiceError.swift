/// The one error type every sluice library throws.
///
/// It says what failed, on which object, and what to do about it, and carries the
/// exit status the command line reports (docs/ARCHITECTURE.md §5): usage errors exit 64,
/// failed checks (lag over a threshold, corruption found, an active group
/// refused) exit 2, everything else exits 1.
public struct SluiceError: Error, CustomStringConvertible, Sendable {
    /// The exit status class of an error.
    public enum Kind: Sendable, Equatable {
        /// The command line itself is wrong (exit 64).
        case usage
        /// The operation failed (exit 1).
        case failure
        /// The operation ran but a check it performs did not pass (exit 2).
        case checkFailed
    }

    /// A stable, machine-readable name for the condition, so tests and scripts
    /// need not match on prose. Modules add their own with `extension Reason`.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }
    }

    public var kind: Kind
    public var reason: Reason
    /// What failed and on which object, e.g. "topic 'orders' does not exist".
    public var message: String
    /// What to do about it, e.g. "list topics with 'sluice topic list'".
    public var remedy: String?
    /// For a full disk: the space the failed operation needed, when known,
    /// so the command line can say how much to free.
    public var neededBytes: Int64?
    /// For a full disk: the file or directory whose write failed, so the
    /// command line can tell a full data directory from a full destination.
    public var fullPath: String?

    public init(_ kind: Kind, _ reason: Reason, _ message: String, remedy: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.message = message
        self.remedy = remedy
    }

    public var description: String {
        guard let remedy, !remedy.isEmpty else { return message }
        return "\(message); \(remedy)"
    }

    /// The process exit status for this error.
    public var exitStatus: Int32 {
        switch kind {
        case .usage: return ExitStatus.usage
        case .failure: return ExitStatus.failure
        case .checkFailed: return ExitStatus.checkFailed
        }
    }

    public static func usage(_ reason: Reason, _ message: String, remedy: String? = nil) -> SluiceError {
        SluiceError(.usage, reason, message, remedy: remedy)
    }

    public static func failure(_ reason: Reason, _ message: String, remedy: String? = nil) -> SluiceError {
        SluiceError(.failure, reason, message, remedy: remedy)
    }

    public static func checkFailed(_ reason: Reason, _ message: String, remedy: String? = nil) -> SluiceError {
        SluiceError(.checkFailed, reason, message, remedy: remedy)
    }
}

/// Exit statuses shared by every command (docs/ARCHITECTURE.md §5).
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let checkFailed: Int32 = 2
    public static let usage: Int32 = 64
}

extension SluiceError.Reason {
    public static let invalidArgument = Self("invalid-argument")
    public static let io = Self("io")
    public static let noSpace = Self("no-space")
    public static let interrupted = Self("interrupted")
    public static let internalError = Self("internal")
}
