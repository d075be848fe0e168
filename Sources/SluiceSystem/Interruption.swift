#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as a flag that long-running commands poll, so they stop
/// at a consistent point (after a write, at a commit, between batches) rather
/// than wherever the signal lands.
public enum Interruption {
    nonisolated(unsafe) private static var signalled: sig_atomic_t = 0
    nonisolated(unsafe) private static var lastSignal: sig_atomic_t = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            Interruption.signalled = 1
            Interruption.lastSignal = signal
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have started us with these blocked (a test runner's
        // threads do); a clean stop must still be possible.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
    }

    public static var requested: Bool { signalled != 0 }

    /// The signal's name, for messages.
    public static var signalName: String { lastSignal == SIGTERM ? "SIGTERM" : "SIGINT" }
}
