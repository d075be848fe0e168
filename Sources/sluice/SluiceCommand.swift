import ArgumentParser
import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

@main
struct Sluice: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Operate Kafka-format message logs on local disk.",
        discussion: """
        sluice works on a data directory of partitions in Apache Kafka's own segment format: \
        topics, produce and consume, consumer-group offsets and lag, zstd export and import, \
        and fan-out redistribution of a backlog. Many sluice processes may share one data \
        directory; nothing else needs to run. It also opens a Kafka broker's log directory \
        read-only.

        EXIT STATUS
          0   success
          1   failure
          2   a check failed: lag above a threshold, corruption found, an active group refused
          64  usage error: unknown option, malformed value, bad argument

        ENVIRONMENT
          SLUICE_DATA_DIR   the data directory when --data-dir is not given
        """,
        version: version,
        subcommands: [
            TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupCommand.self, LagCommand.self, RedistributeCommand.self, DumpCommand.self, VerifyCommand.self,
        ])

    static func main() {
        StandardStreams.ignoreBrokenPipeSignal()
        Interruption.install()
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitForParseError(error)
        }
        do {
            try command.run()
        } catch {
            exitForRunError(error)
        }
        Glibc.exit(ExitStatus.success)
    }

    /// Help and version exit 0; anything else the parser rejects is a usage error (64).
    static func exitForParseError(_ error: Error) -> Never {
        if exitCode(for: error) == .success {
            Sluice.exit(withError: error)
        }
        if let sluiceError = error as? SluiceError { exitForRunError(sluiceError) }
        let message = Sluice.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        StandardErrorLog.line("error: \(message) (see 'sluice --help' or 'sluice COMMAND --help')")
        Glibc.exit(ExitStatus.usage)
    }

    static func exitForRunError(_ error: Error) -> Never {
        switch error {
        case let error as SluiceError:
            StandardErrorLog.line("error: \(error.description)")
            Glibc.exit(error.exitStatus)
        case let code as ExitCode:
            Glibc.exit(code.rawValue)
        case is CleanExit:
            Sluice.exit(withError: error)
        default:
            // The parser's own errors can surface from run() too (`sluice help`, `--help` on a group).
            if exitCode(for: error) == .success { Sluice.exit(withError: error) }
            if exitCode(for: error) == .validationFailure { exitForParseError(error) }
            StandardErrorLog.line("error: \(error)")
            Glibc.exit(ExitStatus.failure)
        }
    }
}
