import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceSystem

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the batches and records of a segment file or partition directory.",
        discussion: """
            Shows what kafka-dump-log.sh --print-data-log --deep-iteration shows: each batch's header fields \
            with its CRC validity, then each record. Works on any Kafka segment (.log), offset index (.index), \
            time index (.timeindex) or partition directory, including ones copied from a broker. Records of \
            batches compressed with any Kafka codec (gzip, snappy, lz4, zstd) are decoded, and so are the \
            messages inside legacy (magic 0/1) compressed wrappers, with their absolute offsets. A bad CRC is \
            reported (isvalid: false) and dumping goes on; exit status 2 if anything was invalid.
            """)

    @Argument(help: "A .log, .index or .timeindex file, or a partition directory.")
    var path: String

    @Flag(help: "Print one JSON object per batch (schema version 1; see the README).")
    var json = false

    @Flag(name: .customLong("no-records"), help: "Print batch headers only.")
    var noRecords = false

    func run() throws {
        let dump = SegmentDump(output: BufferedOutput(file: StandardStreams.output), json: json, printRecords: !noRecords)
        try dump.dump(path: path)
        if dump.summary.invalid > 0 {
            throw SluiceError.checkFailed(
                .corruptLog, "\(path) holds \(dump.summary.invalid) invalid entr\(dump.summary.invalid == 1 ? "y" : "ies")",
                remedy: "see the lines marked isvalid: false or problem")
        }
    }
}
