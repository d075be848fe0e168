import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// `make bench`: times the release binary as a user runs it, beside baselines
/// measured in the same run, and writes the figures to BENCHMARKS.md.
@main
struct SluiceBench {
    static func main() {
        Interruption.install()
        do {
            try run(BenchOptions.parse(Array(CommandLine.arguments.dropFirst())))
        } catch let error as SluiceError {
            progress("error: \(error.description)")
            exit(error.reason == .benchInterrupted ? 130 : error.exitStatus)
        } catch {
            progress("error: \(error)")
            exit(1)
        }
    }

    static func run(_ options: BenchOptions) throws {
        let sluice = try executable(options.sluice)
        let scratch = absolute(options.scratch)
        let bench = try Workbench(scratch: scratch + "/run", sluice: sluice, seed: options.seed)
        var peer: TansuPeer?
        defer {
            peer?.stop()
            bench.removeScratch()
        }
        let runner = CaseRunner(bench: bench, plan: options.plan)
        let header = RunHeader(
            command: options.label, date: TimeParsing.formatISO8601(WallClock.nowMillis()),
            commit: commit(scratch: bench.scratch), plan: options.plan, seed: options.seed,
            machine: Machine.current(dataPath: bench.scratch))
        let displayRoot = currentDirectory() + "/"
        print(Report.header(header) + "\n")
        var outcomes: [TableOutcome] = []
        func report(_ outcome: TableOutcome) {
            outcomes.append(outcome)
            print(Report.section(outcome, displayRoot: displayRoot) + "\n")
        }
        for table in Catalogue.tables(options.sizes) where table.cases.contains(where: { options.selects($0) }) {
            report(try measure(table, with: runner, options: options))
        }
        let peerTitle = "Kafka-protocol peer: kcat → Tansu (issue 8)"
        if options.runsPeer {
            do {
                progress("setting up the Kafka-protocol peer in \(options.scratch)/tools (kept between runs)")
                let started = try TansuPeer(tools: scratch + "/tools", scratch: bench.scratch)
                peer = started
                report(try measure(PeerCases.table(options.sizes, peer: started), with: runner, options: options))
            } catch let error as SluiceError where error.reason == .peerUnavailable {
                report(TableOutcome(title: peerTitle, results: [], skipped: error.message + (error.remedy.map { " (\($0))" } ?? "")))
            }
        } else {
            report(
                TableOutcome(
                    title: peerTitle, results: [],
                    skipped: options.quick ? "not run with QUICK=1 (or --quick without --peer)" : "not run (PEER=0 or --no-peer)"))
        }
        let targets = Report.targetSummary(outcomes.flatMap(\.results))
        print(targets)
        if let path = options.report {
            let sections = outcomes.map { Report.section($0, displayRoot: displayRoot) }
            let generated = ([Report.header(header)] + sections + [targets]).joined(separator: "\n\n")
            try Report.rewriteGeneratedSection(of: path, with: generated)
            progress("wrote the results into \(path)")
        }
    }

    private static func measure(_ table: BenchTable, with runner: CaseRunner, options: BenchOptions) throws -> TableOutcome {
        progress("== \(table.title)")
        var results: [CaseResult] = []
        for benchCase in table.cases where options.selects(benchCase) {
            progress("   \(benchCase.name) …")
            let result = try runner.run(benchCase)
            progress(
                "   \(benchCase.name): \(Format.seconds(result.timed.wall.median)), \(Format.ratio(result.ratio)) \(result.baselineLabel)")
            results.append(result)
        }
        return TableOutcome(table: table, title: table.title, results: results)
    }

    private static func executable(_ path: String) throws -> String {
        guard access(path, X_OK) == 0 else {
            throw SluiceError(
                .failure, .benchCommandFailed, "no sluice executable at \(path)",
                remedy: "build it with 'make release' (or pass --sluice PATH)")
        }
        return absolute(path)
    }

    /// `path` made absolute without resolving links, so reports show it as given.
    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : currentDirectory() + "/" + path
    }

    private static func commit(scratch: String) -> String {
        guard let head = try? ChildProcess.output(of: Command(["git", "rev-parse", "--short", "HEAD"]), scratch: scratch) else {
            return "unknown (not a git checkout)"
        }
        let changes =
            (try? ChildProcess.output(of: Command(["git", "status", "--porcelain", "--untracked-files=no"]), scratch: scratch)) ?? ""
        return head.split(separator: "\n").first.map(String.init).map { changes.isEmpty ? $0 : $0 + " (with uncommitted changes)" }
            ?? "unknown"
    }

    private static func currentDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "." }
        defer { free(path) }
        return String(cString: path)
    }

    private static func progress(_ text: String) { StandardErrorLog.line(text) }
}
