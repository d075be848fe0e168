import SluiceCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The process's standard streams as `File`s, and whether they are terminals.
public enum StandardStreams {
    public static let input = File(descriptor: .standardInput, path: "standard input")
    public static let output = File(descriptor: .standardOutput, path: "standard output")
    public static let error = File(descriptor: .standardError, path: "standard error")

    public static var inputIsTerminal: Bool { isatty(0) == 1 }
    public static var outputIsTerminal: Bool { isatty(1) == 1 }
    public static var errorIsTerminal: Bool { isatty(2) == 1 }

    /// Ignores SIGPIPE so a closed stdout (`sluice consume | head`) surfaces as
    /// EPIPE from `write`, which consumers treat as a normal end.
    public static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }
}
