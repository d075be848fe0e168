import ArgumentParser
import SluiceCore
import SluiceOperations
import SluiceStore

struct GroupDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a group's members and, per partition, committed offset, log end, lag, last commit and lease holder.",
        discussion: "STATUS is as in 'sluice lag' (\(LagStatus.help)).")

    @OptionGroup var common: CommonOptions

    @Argument(help: "The consumer group.", completion: Completions.groups)
    var group: String

    @Flag(
        help:
            """
            Print JSON (schema version 1: the group object of 'sluice lag --json' plus \
            "version" and "members": [{member, pid, host, since, topic, mode, partitions}]).
            """
    )
    var json = false

    func run() throws {
        let store = try common.openStore()
        var options = LagReport.Options()
        options.groups = [group]
        options.holders = true
        let report = try LagReport.make(store, options)
        let members = try store.members(of: [group])[group] ?? []
        let lag = report.groups[0]
        if json {
            var object = lag.jsonObject
            object.insert(("version", 1), at: 0)
            let memberObjects: [JSONValue] = members.map { member in
                var entry = member.json.objectValue ?? []
                entry += [
                    ("topic", JSONValue(member.topic)), ("mode", JSONValue(member.mode)),
                    ("partitions", JSONValue.array(member.partitions.map { JSONValue($0) })),
                ]
                return JSONValue.object(entry)
            }
            object.append(("members", JSONValue.array(memberObjects)))
            try Output.printJSON(JSONValue.object(object))
            return
        }
        var lines = [
            """
            Group: \(group)  State: \(lag.active ? "active" : "inactive")  \
            Members: \(members.count)  Lag: \(lag.lag.map(String.init) ?? "-")
            """
        ]
        if !members.isEmpty {
            var table = Table([("MEMBER", .left), ("PID", .right), ("HOST", .left), ("SINCE", .left), ("TOPIC", .left), ("MODE", .left)])
            for m in members {
                table.add([
                    m.member, String(m.pid), m.host, Output.time(m.since), m.topic ?? "-",
                    (m.mode ?? "-") + (m.partitions.isEmpty ? "" : " " + m.partitions.map(String.init).joined(separator: ",")),
                ])
            }
            lines += ["", table.render()]
        }
        lines += ["", LagTables.partitions([lag], holders: true)]
        try Output.print(lines.joined(separator: "\n"))
    }
}
