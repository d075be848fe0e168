import ArgumentParser
import KafkaFormat
import SluiceCluster
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Append records to a topic from stdin or a file.",
        discussion: """
            Each input line is one record's value; with --key-separator, the text before the first separator \
            is the key (a line without it has a null key). With --json each line is an object \
            {"key", "value", "headers", "partition", "timestamp"} (key_base64/value_base64 for binary), the \
            shape 'consume --json' prints, so consumed records produce back losslessly.

            Keyed records go to Kafka's partition for the key (murmur2). Unkeyed records fill one batch \
            (--batch-size) at a time, each partition in turn from a random one, as Kafka's sticky partitioner \
            does: whole batches make fewer, larger writes, and an input smaller than a batch goes to one \
            partition. --header NAME=VALUE (kcat's -H) gives every record of a text input that header. \
            sluice exits 0 only once every record it read is durable: fsynced in a data directory; on a cluster \
            acknowledged by every in-sync replica (acks=all), sent by an idempotent producer, so a retry after a \
            lost connection never writes a batch twice.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var topic: String

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("Read from this file instead of stdin.", valueName: "path"))
    var file: String?

    @Option(
        name: [.customShort("K"), .customLong("key-separator")],
        help: ArgumentHelp("Split each line into key and value at the first SEP.", valueName: "sep"))
    var keySeparator: String?

    @Option(name: [.customShort("p"), .long], parsing: .unconditional, help: "Write every record to this partition.")
    var partition: Int?

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp("Give every record this header (repeatable; text input).", valueName: "name=value"))
    var header: [String] = []

    @Flag(help: "Read JSON objects, one per line, and print the summary as JSON on stdout.")
    var json = false

    @Option(help: ArgumentHelp("Batch compression: none or zstd (default: the topic's compression.type, else none).", valueName: "codec"))
    var compression: OneOf<BatchCompression>?

    @Option(
        name: .customLong("batch-size"), parsing: .unconditional,
        help: ArgumentHelp(
            "Close a batch at this many bytes (Kafka's batch.size; default 16384, on a cluster 1000000 as librdkafka's).",
            valueName: "bytes"))
    var batchSize: Int?

    @Option(
        name: .customLong("sync-interval"), parsing: .unconditional,
        help: ArgumentHelp("Also fsync at least this often while producing (e.g. 1s); default only at the end.", valueName: "duration"))
    var syncInterval: String?

    func validate() throws {
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator must not be empty") }
        if json && keySeparator != nil { throw ValidationError("--key-separator does not apply to --json input") }
        if json && !header.isEmpty { throw ValidationError("--header does not apply to --json input; give each object its headers") }
        if let batchSize, !(64...(16 << 20)).contains(batchSize) {
            throw ValidationError("--batch-size must be between 64 and 16777216 bytes")
        }
        _ = try chosenCompression()
    }

    private func chosenCompression() throws -> BatchCompression? {
        try compression?.value(or: ValidationError("--compression must be none or zstd"))
    }

    func run() throws {
        if let cluster = try common.openCluster() {
            if syncInterval != nil {
                throw SluiceError.usage(
                    .invalidArgument, "--sync-interval applies to a data directory",
                    remedy: "a cluster acknowledges each batch once all in-sync replicas have it (acks=all)")
            }
            var options = ClusterProducer.Options()
            options.codec = try chosenCompression()?.codec ?? .none
            options.batchBytes = batchSize ?? ClusterProducer.Options.defaultBatchBytes
            if let partition { try cluster.layout(of: topic).require(partition) }
            return try produce(into: try ClusterProducer(store: cluster, topic: topic, options: options), durable: "acknowledged")
        }
        let directory = try common.open(writing: "produce to topic '\(topic.printable)'")
        let target = try directory.topic(topic)
        if let partition { _ = try target.partition(partition) }
        var options = TopicProducer.Options()
        options.compression = try chosenCompression()?.codec
        options.batchBytes = batchSize ?? TopicProducer.Options.defaultBatchBytes
        options.syncIntervalMillis = try syncInterval.map(TimeParsing.parseDuration)
        try produce(into: try TopicProducer(topic: target, options: options), durable: "durable")
    }

    /// Feeds the input to `producer` and reports what it wrote. Generic, so
    /// each store's producer is called directly per record.
    private func produce<Writer: TopicWriter>(into producer: Writer, durable: String) throws {
        let input = try file.map { try File.open($0) } ?? StandardStreams.input
        let reader = LineReader(file: input)
        reader.stopWhen = { Interruption.requested }
        let summary: ProduceSummary
        do {
            if json {
                try ProduceInput.json(reader, into: producer, partition: partition)
            } else {
                try ProduceInput.lines(
                    reader, into: producer, keySeparator: keySeparator.map { Array($0.utf8) }, partition: partition,
                    headers: header.isEmpty ? nil : try ProduceInput.FixedHeaders(parsing: header))
            }
            summary = try producer.finish()
        } catch var error as SluiceError where producer.appendedRecords > 0 {
            // Say what made it into the topic, so a re-run does not duplicate it unknowingly.
            let madeDurable = producer.syncAppended()
            error.remedy = [
                error.remedy,
                """
                \(producer.appendedRecords) of the records from the \(reader.lineNumber) lines read were \
                appended\(madeDurable ? " and are \(durable)" : ""); producing the same input again adds them again
                """,
            ].compactMap { $0 }.joined(separator: "; ")
            throw error
        }
        if reader.stopped {
            throw SluiceError.failure(
                .interrupted,
                """
                produce stopped by \(Interruption.signalName) after \(summary.records) \
                records (\(reader.lineNumber) lines); they are \(durable) in '\(topic)'
                """,
                remedy: "the rest of the input was not read; produce it (from line \(reader.lineNumber + 1) on) to continue")
        }
        if json {
            try Output.printJSON(summary.json(topic: topic))
        } else {
            let parts = summary.partitions.keys.sorted().map { "p\($0): \(summary.partitions[$0]!.records)" }.joined(separator: ", ")
            StandardErrorLog.notice(
                """
                produced \(summary.records) records (\(ByteCount.format(summary.bytes))) \
                to '\(topic)'\(parts.isEmpty ? "" : " — " + parts)
                """
            )
        }
    }
}

/// The codecs `produce --compression` writes batches with (all five are read); a name matches in any case.
enum BatchCompression: CaseIterable, RawRepresentable {
    case none, zstd

    var codec: CompressionCodec {
        switch self {
        case .none: return .none
        case .zstd: return .zstd
        }
    }

    init?(rawValue: String) {
        guard let compression = Self.allCases.first(where: { CompressionCodec(name: rawValue) == $0.codec }) else { return nil }
        self = compression
    }

    var rawValue: String { codec.name }
}
