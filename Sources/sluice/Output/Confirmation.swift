import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Asks a yes/no question on a terminal. Without a terminal nothing prompts:
/// the command fails naming the flag that confirms it, so cron jobs never hang.
enum Confirmation {
    static func ask(_ question: String, flag: String) throws {
        guard StandardStreams.inputIsTerminal && StandardStreams.errorIsTerminal else {
            throw SluiceError.usage(
                .confirmationRequired, "refusing to proceed without confirmation (not on a terminal)",
                remedy: "pass \(flag) to confirm")
        }
        StandardErrorLog.line(question + " [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
            throw SluiceError.failure(.confirmationRequired, "not confirmed; nothing was changed")
        }
    }
}

extension SluiceError.Reason {
    static let confirmationRequired = Self("confirmation-required")
}
