import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

struct LagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "Show how far behind consumer groups are, for people and for cron.",
        discussion: """
            For every partition of the selected groups (all by default) and topics: the committed offset, the \
            log-end offset, the lag in records, the lag in time (age of the oldest unconsumed record: now minus \
            the timestamp of the record at the committed offset), the consumption rate and the time to catch up \
            (from the group's last commits), and a status. The table shows one line per group and topic with a \
            trend of its total lag over its last commits; --partitions shows every partition. The cost does not \
            grow with the backlog.

            STATUS: \(LagStatus.help). A topic's or group's status is the worst of its partitions' (STOPPED, \
            STALLED, WARN, REWOUND, OK).

            --json prints schema version 1: {version, generated_at, groups: [{group, state, lag, status, topics: \
            [{topic, topic_exists, lag, lag_ms, consume_rate, produce_rate, eta_ms, status, last_commit, trend, \
            partitions: [{partition, committed_offset, log_start_offset, log_end_offset, lag, lag_ms, last_commit, \
            consume_rate, produce_rate, eta_ms, status, holder}]}]}]} (rates in records/s, times in epoch ms, \
            null when unknown). --format prometheus prints the text exposition format for node_exporter's \
            textfile collector (metrics sluice_group_*), e.g. from cron: \
            sluice lag --format prometheus > /var/lib/node_exporter/sluice.prom.tmp && mv ... sluice.prom

            --max-lag N and --max-lag-seconds S make the command exit 2 after printing, naming every partition \
            above them (UNKNOWN partitions never count); --fail-on STATUS,... does the same for every partition in \
            one of those statuses (Burrow's STOP, STALL, REWIND are accepted, and ERR for all three). \
            --watch [INTERVAL] refreshes every INTERVAL (a duration, or \
            a bare number of seconds as in watch -n; default 2s; give it right after --watch) until Ctrl-C.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Groups to show (default: all).", completion: Completions.groups)
    var groups: [String] = []

    @Option(
        name: .customLong("topic"), help: ArgumentHelp("Only this topic (repeatable).", valueName: "topic"), completion: Completions.topics)
    var topics: [String] = []

    @Flag(help: "Print JSON (schema version 1).")
    var json = false

    @Option(help: ArgumentHelp("table, json or prometheus.", valueName: "format"))
    var format: OneOf<LagFormat>?

    @Flag(help: "Show every partition in the table.")
    var partitions = false

    @Flag(help: "Refresh until interrupted (--watch [INTERVAL], default 2s).")
    var watch = false

    @Option(
        name: .customLong("max-lag"), parsing: .unconditional,
        help: ArgumentHelp("Exit 2 when a partition lags by more records than this.", valueName: "N"))
    var maxLag: String?

    @Option(
        name: .customLong("max-lag-seconds"), parsing: .unconditional,
        help: ArgumentHelp("Exit 2 when a partition's oldest unconsumed record is older than this.", valueName: "S"))
    var maxLagSeconds: String?

    @Option(
        name: .customLong("fail-on"),
        help: ArgumentHelp("Exit 2 when a partition has one of these statuses (e.g. STALLED,STOPPED).", valueName: "status,..."))
    var failOn: String?

    @Option(
        name: .customLong("stall-after"), parsing: .unconditional,
        help: ArgumentHelp("How long a held partition may go without progress before it is STALLED (default 5m).", valueName: "duration"))
    var stallAfter: String?

    func validate() throws {
        if let format = try chosenFormat(), json && format != .json {
            throw ValidationError("--json and --format \(format.rawValue) cannot be combined")
        }
    }

    private func chosenFormat() throws -> LagFormat? {
        try format?.value(or: ValidationError("--format must be table, json or prometheus"))
    }

    func run() throws {
        let store = try common.openStore()
        let (groups, interval) = try watchInterval()
        let maxLag = try threshold(self.maxLag, "--max-lag")
        let maxLagSeconds = try threshold(self.maxLagSeconds, "--max-lag-seconds")
        let failOn = try self.failOn.map(LagStatus.parseList) ?? []
        let format = try json ? LagFormat.json : chosenFormat() ?? .table
        var options = LagReport.Options()
        options.groups = groups
        options.topics = topics
        if let stallAfter { options.stallAfterMillis = try TimeParsing.parseDuration(stallAfter) }
        var breaches: [String]
        repeat {
            options.now = WallClock.nowMillis()
            let report = try LagReport.make(store, options)
            if watch && StandardStreams.outputIsTerminal {
                try Output.print("\u{1B}[H\u{1B}[2J" + "every \(TimeParsing.formatDuration(interval))  \(Output.time(options.now))\n")
            }
            try Output.print(render(report, as: format))
            breaches = report.breaches(maxLag: maxLag, maxLagSeconds: maxLagSeconds, failOn: failOn)
            if watch { pause(interval) }
        } while watch && !Interruption.requested
        guard breaches.isEmpty else {
            let shown = breaches.prefix(20).joined(separator: ", ") + (breaches.count > 20 ? " and \(breaches.count - 20) more" : "")
            let what = failOn.isEmpty ? "lag above threshold" : "lag above threshold or a --fail-on status"
            throw SluiceError.checkFailed(
                .lagAboveThreshold, "\(what) in \(breaches.count) partition\(breaches.count == 1 ? "" : "s"): \(shown)")
        }
    }

    private func render(_ report: LagReport, as format: LagFormat) -> String {
        switch format {
        case .json: return report.json.serialized(pretty: true)
        case .prometheus: return report.prometheus
        case .table:
            if report.groups.isEmpty { return "no consumer groups" }
            return partitions ? LagTables.partitions(report.groups, holders: false) : LagTables.topics(report.groups)
        }
    }

    /// `--watch` takes an optional value, which the parser cannot express: what
    /// follows it and parsed as a group is the interval when it starts with a
    /// digit (a bare number is seconds, as `watch -n 1`; anything else must be a
    /// duration) or is an ISO-8601 duration.
    private func watchInterval() throws -> ([String], Int64) {
        var groups = self.groups
        let arguments = CommandLine.arguments
        guard watch, let at = arguments.firstIndex(of: "--watch"), at + 1 < arguments.count,
            let index = groups.firstIndex(of: arguments[at + 1])
        else { return (groups, 2000) }
        let value = arguments[at + 1]
        let millis: Int64
        if value.first?.isASCII == true && value.first?.isNumber == true {
            millis = try TimeParsing.parseDuration(value.allSatisfy(\.isNumber) ? value + "s" : value)
        } else if let iso = try? TimeParsing.parseDuration(value), value.first == "P" {
            millis = iso
        } else {
            return (groups, 2000)
        }
        groups.remove(at: index)
        return (groups, millis)
    }

    private func threshold(_ text: String?, _ flag: String) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw SluiceError.usage(.invalidArgument, "malformed \(flag) '\(text.printable)'", remedy: "use a non-negative whole number")
        }
        return value
    }

    private func pause(_ millis: Int64) {
        let deadline = WallClock.monotonicNanos() + UInt64(millis) * 1_000_000
        while !Interruption.requested && WallClock.monotonicNanos() < deadline { usleep(50_000) }
    }
}

/// What `lag --format` prints.
enum LagFormat: String, CaseIterable {
    case table, json, prometheus
}

/// The tables of `lag` and `group describe`.
enum LagTables {
    static func topics(_ groups: [GroupLag]) -> String {
        var table = Table([
            ("GROUP", .left), ("TOPIC", .left), ("PARTITIONS", .right), ("LAG", .right), ("LAG-TIME", .right),
            ("RATE", .right), ("ETA", .right), ("STATUS", .left), ("TREND", .left),
        ])
        for group in groups {
            for topic in group.topics {
                table.add([
                    group.group, topic.topic + (topic.exists ? "" : " (deleted)"), String(topic.partitions.count),
                    topic.lag.map(String.init) ?? "-", duration(topic.lagMillis), rate(topic.consumeRate),
                    topic.lag.map { eta(topic.etaMillis, lag: $0) } ?? "-", topic.status.rawValue, Sparkline.render(topic.trend),
                ])
            }
        }
        return table.render()
    }

    static func partitions(_ groups: [GroupLag], holders: Bool) -> String {
        var columns: [(String, Table.Alignment)] = [
            ("GROUP", .left), ("TOPIC", .left), ("PARTITION", .right), ("COMMITTED", .right),
            ("LOG-END", .right), ("LAG", .right), ("LAG-TIME", .right), ("LAST-COMMIT", .left),
            ("RATE", .right), ("ETA", .right), ("STATUS", .left),
        ]
        if holders { columns.append(("HOLDER", .left)) }
        var table = Table(columns)
        for group in groups {
            for topic in group.topics {
                for row in topic.partitions {
                    var cells = [
                        group.group, topic.topic + (topic.exists ? "" : " (deleted)"), String(row.partition),
                        row.committed.map(String.init) ?? "-", row.logEnd.map(String.init) ?? "-", row.lag.map(String.init) ?? "-",
                        duration(row.lagMillis), Output.time(row.lastCommit), rate(row.consumeRate),
                        row.lag.map { eta(row.etaMillis, lag: $0) } ?? "-", row.status.rawValue,
                    ]
                    if holders { cells.append(row.holder.map { "\($0.member) (pid \($0.pid))" } ?? "-") }
                    table.add(cells)
                }
            }
        }
        return table.render()
    }

    static func duration(_ millis: Int64?) -> String { millis.map(TimeParsing.formatDuration) ?? "-" }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 1000 ? "\((value / 100).rounded() / 10)k/s" : "\((value * 10).rounded() / 10)/s"
    }

    static func eta(_ millis: Int64?, lag: Int64) -> String {
        if lag == 0 { return "0s" }
        return millis.map(TimeParsing.formatDuration) ?? "never"
    }
}

extension SluiceError.Reason {
    static let lagAboveThreshold = Self("lag-above-threshold")
}
