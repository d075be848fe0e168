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
        """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.")
    var topic: String

    @Option(name: [.customShort("p"), .long], help: "Read only this partition (repeatable; default all).")
    var partition: [Int] = []

    @Option(name: [.customShort("o"), .long], parsing: .unconditional,
            help: ArgumentHelp("Where to start: earliest, latest, an offset, -N (N before the end) or @TIME.", valueName: "position"))
    var from: String = "earliest"

    @Option(name: [.customShort("c"), .customLong("max-messages")], help: "Stop after this many records.")
    var maxMessages: Int64?

    @Flag(name: [.customShort("f"), .long], help: "Keep waiting for new records (stop with Ctrl-C).")
    var follow = false

    @Flag(help: "Print one JSON object per record (schema version 1).")
    var json = false

    @Option(help: ArgumentHelp("A kcat-style format string, e.g. '%p:%o %k=%v\\n'.", valueName: "fmt"))
    var format: String?

    func validate() throws {
        if json && format != nil { throw ValidationError("--json and --format cannot be combined") }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
    }

    func run() throws {
        let directory = try common.open()
        let target = try directory.topic(topic)
        let start = try StartPosition.parse(from)
        let formatter: RecordFormatter
        if json { formatter = RecordFormatter(.json) } else if let format { formatter = RecordFormatter(.pattern(try RecordFormatter.parsePattern(format))) } else { formatter = RecordFormatter(.valueLines) }
        var options = TopicConsumer.Options()
        options.maxMessages = maxMessages
        options.follow = follow
        let consumer = TopicConsumer(topic: target, options: options, formatter: formatter, output: BufferedOutput(file: StandardStreams.output))
        for index in partition.isEmpty ? target.partitionIndices : partition {
            let p = try target.partition(index)
            try consumer.assign(p, from: try start.resolve(in: p))
        }
        _ = try consumer.run(shouldStop: { Interruption.requested })
    }
}
