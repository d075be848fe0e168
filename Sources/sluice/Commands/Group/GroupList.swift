import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

struct GroupList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List consumer groups: topics, state, members and total lag.",
        discussion:
            """
            A group is active while a consumer of it runs (holds its membership \
            or a lease). LAG is the total over the partitions it committed.
            """
    )

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print JSON (schema: {version: 1, groups: [{group, state, members, topics, partitions, lag, last_commit}]}).")
    var json = false

    func run() throws {
        let groups = try GroupSummary.all(try common.openStore())
        if json {
            try Output.printJSON(["version": 1, "groups": .array(groups.map(\.json))])
            return
        }
        guard !groups.isEmpty else {
            StandardErrorLog.notice("no consumer groups")
            return
        }
        var table = Table([
            ("GROUP", .left), ("STATE", .left), ("MEMBERS", .right), ("PARTITIONS", .right), ("LAG", .right),
            ("LAST-COMMIT", .left), ("TOPICS", .left),
        ])
        for g in groups {
            table.add([
                g.group, g.active ? "active" : "inactive", String(g.members), String(g.partitions), g.lag.map(String.init) ?? "-",
                Output.time(g.lastCommit), g.topics.joined(separator: ","),
            ])
        }
        try Output.print(table.render())
    }
}
