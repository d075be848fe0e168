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
              2   a check failed: lag above a threshold, corruption found, an active
                  group refused
              64  usage error: unknown option, malformed value, bad argument

            ENVIRONMENT
              SLUICE_DATA_DIR   the data directory when --data-dir is not given (default:
                                $XDG_DATA_HOME/sluice, else ~/.local/share/sluice)

            Every command has a man page with examples: man sluice, man sluice-topic-create.
            """,
        version: version,
        subcommands: [
            TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupCommand.self, LagCommand.self,
            RedistributeCommand.self, ExportCommand.self, ImportCommand.self, ArchiveCommand.self, DumpCommand.self,
            VerifyCommand.self, RetentionCommand.self, DeleteRecordsCommand.self, ClusterCommand.self,
        ])

    static func main() {
        StandardStreams.ignoreBrokenPipeSignal()
        Interruption.install()
        ResourceLimits.raiseOpenFilesLimit()
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
        StandardErrorLog.line("error: \(message)\(mistypedSubcommand()) (see 'sluice --help' or 'sluice COMMAND --help')")
        Glibc.exit(ExitStatus.usage)
    }

    /// " (did you mean …?)" when a word where a subcommand goes is close to one
    /// (`sluice consme`, `sluice group seak`), else "".
    static func mistypedSubcommand() -> String {
        var command: ParsableCommand.Type = Sluice.self
        for word in CommandLine.arguments.dropFirst() where !word.hasPrefix("-") {
            let names = command.configuration.subcommands.map { $0.configuration.commandName ?? "" }
            guard !names.isEmpty else { return "" }
            guard let next = command.configuration.subcommands.first(where: { $0.configuration.commandName == word }) else {
                return Suggestions.didYouMean(word, in: names)
            }
            command = next
        }
        return ""
    }

    /// A full disk, said the same way by every command: which data directory,
    /// what failed, how much the operation needed, and what to do.
    static func diskFull(_ error: SluiceError) -> SluiceError {
        guard let path = CommonOptions.opened else { return error }
        // A full export target or standard output is not a full data directory: advice to delete records there would
        // free nothing. The syscall layer's message already names the path and what to free.
        if let full = error.fullPath, full != path, !full.hasPrefix(path.hasSuffix("/") ? path : path + "/") { return error }
        var described = error
        described.message =
            "data directory \(path) is full: \(error.message)"
            + (error.neededBytes.flatMap { error.message.contains("needed") ? nil : " — the operation needed \(ByteCount.format($0))" }
                ?? "")
        // What the operation itself said (what was kept, what to re-run), without the syscall layer's generic advice.
        let specific = (error.remedy ?? "").split(separator: "; ").map(String.init).filter {
            !$0.hasPrefix("free space on the file system holding")
        }
        described.remedy =
            ([
                """
                free space on the file system holding \(path) (delete old records with 'sluice \
                retention --execute' or 'sluice delete-records'), then run the command again
                """
            ] + specific).joined(separator: "; ")
        return described
    }

    static func exitForRunError(_ error: Error) -> Never {
        switch error {
        case let error as SluiceError:
            StandardErrorLog.line("error: \(error.reason == .noSpace ? diskFull(error).description : error.description)")
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
