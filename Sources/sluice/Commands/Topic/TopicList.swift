import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore
import SluiceSystem

struct TopicList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List topics with their partitions, records and size.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print JSON (schema: {version, topics: [{topic, partitions, records, bytes}]}).")
    var json = false

    @Flag(help: "Include internal topics (names starting with '__').")
    var `internal` = false

    func run() throws {
        let store = try common.openTopicStore()
        let reports = try store.describeTopics(try store.topicNames(includeInternal: `internal`))
        if json {
            try Output.printJSON(["version": 1, "topics": .array(reports.map(\.listJSON))])
            return
        }
        guard !reports.isEmpty else {
            StandardErrorLog.notice("no topics in \(store.location)")
            return
        }
        var table = Table([("TOPIC", .left), ("PARTITIONS", .right), ("RECORDS", .right), ("SIZE", .right)])
        for report in reports {
            table.add([report.name, String(report.partitionCount), String(report.records), report.bytes.map(ByteCount.format) ?? "-"])
        }
        try Output.print(table.render())
    }
}
