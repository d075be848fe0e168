import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore
import SluiceSystem

struct TopicDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a topic's config and, per partition, its offsets, records, bytes, segments and timestamps.")

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic.", completion: Completions.topics)
    var name: String

    @Flag(help: "Print JSON (schema version 1; see the README).")
    var json = false

    func run() throws {
        let report = try common.openTopicStore().describeTopics([name])[0]
        if json {
            try Output.printJSON(report.json)
            return
        }
        var lines = [
            """
            Topic: \(report.name)  Partitions: \(report.partitionCount)  \
            Records: \(report.records)  Size: \(report.bytes.map(ByteCount.format) ?? "-")
            """
        ]
        if !report.id.isEmpty { lines.append("Id: \(report.id)") }
        lines.append("Config: " + report.config.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        var table = Table([
            ("PARTITION", .right), ("LOG-START", .right), ("END", .right), ("RECORDS", .right), ("SIZE", .right),
            ("SEGMENTS", .right), ("OLDEST", .left), ("NEWEST", .left),
        ])
        for p in report.partitions {
            table.add([
                String(p.partition), String(p.logStartOffset), String(p.endOffset), String(p.records), p.bytes.map(ByteCount.format) ?? "-",
                p.segments.map(String.init) ?? "-", Output.time(p.oldestTimestamp), Output.time(p.newestTimestamp),
            ])
        }
        lines.append("")
        lines.append(table.render())
        try Output.print(lines.joined(separator: "\n"))
        for p in report.partitions {
            if let problem = p.tailProblem { Diagnostics.warn("partition \(report.name)-\(p.partition): \(problem)") }
        }
    }
}
