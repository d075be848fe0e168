import ArgumentParser
import SluiceStore

struct GroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, describe, seek, roll back and delete consumer groups.",
        discussion: """
            A group's committed offsets live in the internal topic __consumer_offsets, in Kafka's own record \
            format; every change is kept as history for the topic's retention.ms (default 7d), so 'group history' \
            shows it and 'group rollback' undoes it. Commands that move offsets (seek --execute, rollback \
            --execute, delete) refuse an active group (one whose consumers hold leases) with exit status 2, \
            naming them; --wait-inactive DURATION waits for them to stop, and seek and rollback take --force.
            """,
        subcommands: [GroupList.self, GroupDescribe.self, GroupSeek.self, GroupRollback.self, GroupHistory.self, GroupDelete.self])
}
