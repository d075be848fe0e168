import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem

struct ConsumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print a topic's records.",
        discussion: """
            Prints each record's value on a line by default; --format takes a kcat-style format string \
            (\(RecordFormatter.formatHelp)); --json prints one object per line: \
            {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}, with \
            key_base64/value_base64 for bytes that are not UTF-8. Reading without a group changes nothing on disk.

            Reading ends at each partition's end (or never, with --follow), and sooner with --until TIME (before \
            the partition's first record stamped at or after TIME, as export --until), --until-offset N (before \
            offset N), --max-messages N, or --idle-timeout DURATION (once no record has arrived for that long; \
            kafka-console-consumer's --timeout-ms).

            Kafka's transaction markers (control batches) are never printed. --isolation read_uncommitted (the \
            default, as Kafka's consumers) prints the records of aborted transactions too; read_committed prints \
            only committed ones, deciding each transaction by the COMMIT or ABORT marker that follows its records \
            (so it works on a broker's disk and on imported copies, which have no .txnindex), and stops before a \
            transaction that has no marker yet, as Kafka's last stable offset does. When retention or \
            delete-records deletes records a running consumer has not read yet, it warns and goes on at the new \
            log start (or at the end with --from latest).

            With --group G the consumer is a member of group G: each partition starts at G's committed offset \
            (--from decides where when there is none, or when it lies outside the log, as Kafka's \
            auto.offset.reset does), it holds a lease on every partition it reads, and it commits only what it \
            has written to stdout: every --commit-interval of wall time (default 5s) however slowly stdout is \
            read, every --commit-every N records, before giving a partition to another member, and when it \
            stops (end of data, --max-messages, SIGINT or SIGTERM). A killed consumer re-reads at most what it \
            wrote after its last commit (at-least-once). Output is whole records, each once, however many \
            signals arrive: a write that has begun is finished first. \
            Several consumers of one group split the topic's partitions fairly and without overlap; one that \
            joins gets its share within a second (a member buffers about 200 ms of what its reader takes, so a \
            slow reader does not hold a hand-over back), and the partitions of one that dies are taken over. \
            Without --follow a member stays until the group has read every partition to the end it had when \
            the member started, so ten members started at once drain a backlog together. \
            --partition pins partitions; --member I/N takes the partitions p with p % N == I.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var topic: String

    @Option(
        name: [.customShort("p"), .long], parsing: .unconditionalSingleValue, help: "Read only this partition (repeatable; default all).")
    var partition: [Int] = []

    @Option(
        name: [.customShort("o"), .long], parsing: .unconditional,
        help: ArgumentHelp(
            "Where to start: earliest, latest, an offset, -N (N before the end) or @TIME (\(TimeParsing.timeFormatsSummary)).",
            valueName: "position"))
    var from: String = "earliest"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "End each partition before its first record stamped at or after this time (\(TimeParsing.timeFormatsSummary)).",
            valueName: "time"))
    var until: String?

    @Option(
        name: .customLong("until-offset"), parsing: .unconditional,
        help: ArgumentHelp("End each partition before this offset.", valueName: "offset"))
    var untilOffset: String?

    @Option(
        name: .customLong("idle-timeout"), parsing: .unconditional,
        help: ArgumentHelp("Stop once no record has arrived for this long (with --follow, say).", valueName: "duration"))
    var idleTimeout: String?

    @Option(name: [.customShort("c"), .customLong("max-messages")], parsing: .unconditional, help: "Stop after this many records.")
    var maxMessages: Int64?

    @Flag(name: [.customShort("f"), .long], help: "Keep waiting for new records (stop with Ctrl-C).")
    var follow = false

    @Flag(help: "Print one JSON object per record (schema version 1).")
    var json = false

    @Option(help: ArgumentHelp("A kcat-style format string, e.g. '%p:%o %k=%v\\n'.", valueName: "fmt"))
    var format: String?

    @Option(
        help: ArgumentHelp(
            "read_uncommitted (default) or read_committed: whether records of aborted transactions are printed.", valueName: "level"))
    var isolation = OneOf(Isolation.readUncommitted)

    @Option(
        name: .long, help: ArgumentHelp("Consume as a member of this consumer group.", valueName: "group"), completion: Completions.groups)
    var group: String?

    @Option(
        name: .customLong("commit-every"), parsing: .unconditional,
        help: ArgumentHelp("With --group: also commit after every N records.", valueName: "N"))
    var commitEvery: Int64?

    @Option(
        name: .customLong("commit-interval"), parsing: .unconditional,
        help: ArgumentHelp("With --group: commit this often (default 5s).", valueName: "duration"))
    var commitInterval: String?

    @Flag(name: .customLong("no-commit"), help: "With --group: never commit (read from the committed offsets only).")
    var noCommit = false

    @Option(
        name: .customLong("member"),
        help: ArgumentHelp("With --group: a static split, member I of N (partitions p with p % N == I).", valueName: "I/N"))
    var member: String?

    func validate() throws {
        if json && format != nil { throw ValidationError("--json and --format cannot be combined") }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        if group == nil && (commitEvery != nil || commitInterval != nil || noCommit || member != nil) {
            throw ValidationError("--commit-every, --commit-interval, --no-commit and --member need --group")
        }
        if let commitEvery, commitEvery < 1 { throw ValidationError("--commit-every must be at least 1") }
        if member != nil && !partition.isEmpty { throw ValidationError("--member and --partition cannot be combined") }
        _ = try isolationLevel()
    }

    private func isolationLevel() throws -> Isolation {
        try isolation.value(or: ValidationError("--isolation must be read_uncommitted or read_committed"))
    }

    /// `--member I/N`.
    func staticMember() throws -> (Int, Int)? {
        guard let member else { return nil }
        let parts = member.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            throw SluiceError.usage(
                .invalidArgument, "invalid --member '\(member.printable)'", remedy: "write it as I/N with 0 <= I < N, e.g. 0/3")
        }
        return (index, count)
    }

    func run() throws {
        let start = try StartPosition.parse(from)
        let formatter = try recordFormatter()
        let options = try consumerOptions(resettingTo: start)
        if let cluster = try common.openCluster() {
            if group != nil {
                throw SluiceError.usage(
                    .invalidArgument, "consume --group does not run on a Kafka cluster yet",
                    remedy: "consume without --group (it reads the partitions and commits nothing), or give --data-dir")
            }
            let layout = try cluster.layout(of: topic)
            for index in partition { try layout.require(index) }
            _ = try FetchingConsumer(
                store: cluster, topic: topic, options: options, formatter: formatter, output: BufferedOutput(file: StandardStreams.output)
            ).run(partition.isEmpty ? layout.partitions : partition, from: start, shouldStop: { Interruption.requested })
            return
        }
        let directory = try group.map { try common.open(writing: "consume in group '\($0.printable)'") } ?? common.open()
        let target = try directory.topic(topic)
        let consumer = TopicConsumer(
            topic: target, options: options, formatter: formatter,
            output: BufferedOutput(file: StandardStreams.output, latencyMillis: group.map { _ in GroupConsumer.outputLatencyMillis }))
        if let group {
            try runInGroup(group, directory: directory, topic: target, consumer: consumer, start: start)
            return
        }
        for index in partition.isEmpty ? target.partitionIndices : partition {
            let p = try target.partition(index)
            try consumer.assign(p, from: try start.resolve(in: p))
        }
        _ = try consumer.run(shouldStop: { Interruption.requested })
    }

    private func recordFormatter() throws -> RecordFormatter {
        if json { return RecordFormatter(.json) }
        if let format { return RecordFormatter(.pattern(try RecordFormatter.parsePattern(format))) }
        return RecordFormatter(.valueLines)
    }

    private func consumerOptions(resettingTo start: StartPosition) throws -> TopicConsumer.Options {
        var options = TopicConsumer.Options()
        options.maxMessages = maxMessages
        options.follow = follow
        options.isolation = try isolationLevel()
        options.resetAfterDeletion = start
        // "@TIME" as --from takes it, or TIME as export --until does.
        options.untilTime = try until.map {
            try TimeParsing.parseTime($0.hasPrefix("@") ? String($0.dropFirst()) : $0, now: WallClock.nowMillis())
        }
        options.untilOffset = try untilOffset.map { text in
            guard let offset = Int64(text), offset >= 0 else {
                throw SluiceError.usage(
                    .invalidArgument, "malformed --until-offset '\(text.printable)'", remedy: "use a non-negative integer")
            }
            return offset
        }
        options.idleTimeoutMillis = try idleTimeout.map(TimeParsing.parseDuration)
        if group != nil {
            StandardStreams.output.limitPipeBuffer(to: GroupConsumer.outputPipeBytes)
            options.recordsPerTurn = GroupConsumer.recordsPerTurn
            options.deliverEvery = commitEvery
        }
        return options
    }

    private func runInGroup(_ group: String, directory: DataDirectory, topic: Topic, consumer: TopicConsumer, start: StartPosition) throws {
        var options = GroupConsumer.Options()
        options.reset = start
        options.commitEvery = commitEvery
        options.commits = !noCommit
        if let commitInterval { options.commitIntervalMillis = try TimeParsing.parseDuration(commitInterval) }
        if let (index, count) = try staticMember() {
            options.membership = .staticSplit(member: index, count: count)
        } else if !partition.isEmpty {
            for p in partition { _ = try topic.partition(p) }
            options.membership = .pinned(partition)
        }
        _ = try GroupConsumer(directory: directory, group: group, topic: topic, consumer: consumer, options: options)
            .run(shouldStop: { Interruption.requested })
    }
}
