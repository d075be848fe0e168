import ArgumentParser
import SluiceCore
import SluiceLocal
import SluiceOperations
import SluiceStore
import SluiceSystem

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Delete whole segments beyond topics' retention.ms and retention.bytes (a dry run unless --execute).",
        discussion: """
            Kafka's log retention, run when you say: for each partition of the topics (default: every topic but \
            the internal ones), the oldest segments go while the partition is larger than retention.bytes by at \
            least that segment's size, then while the oldest segment's newest record is older than retention.ms. \
            The active (last) segment is never deleted, so a partition always keeps its newest records, and \
            records are deleted a whole segment at a time. __consumer_offsets is never touched: group history \
            has its own retention.

            Before deleting, it warns about every consumer group whose committed offset lies below a partition's \
            new log start, naming the records it has not consumed; --keep-unconsumed deletes nothing a group \
            has not consumed. Each partition's new log start is recorded in log-start-offset-checkpoint (Kafka's \
            file) before its segments are unlinked, so an interrupted run (kill, SIGTERM) leaves every partition \
            consistent and running it again finishes the job. Consumers reading a deleted segment finish it; one \
            that reaches deleted records goes on at the new log start with a warning.

            --json prints schema version 1: {version, operation, executed, records_deleted, bytes_freed, \
            partitions: [{topic, partition, log_start_offset, new_log_start_offset, log_end_offset, \
            records_deleted, segments_deleted: [base offsets], bytes_freed, rules, segments_kept_for_groups}], \
            groups_losing_records: [{group, topic, partition, committed_offset, new_log_start_offset, records}]}; \
            in a dry run the figures are what --execute would do.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Topics (default: all but internal ones).", completion: Completions.topics)
    var topics: [String] = []

    @Flag(help: "Delete the segments. Without it nothing changes.")
    var execute = false

    @Flag(name: .customLong("dry-run"), help: "Only print what would be deleted (the default).")
    var dryRun = false

    @Flag(name: .customLong("keep-unconsumed"), help: "Never delete records a consumer group has not consumed.")
    var keepUnconsumed = false

    @Flag(help: "Print JSON (schema version 1).")
    var json = false

    func validate() throws {
        if execute && dryRun { throw ValidationError("--execute and --dry-run cannot be combined") }
    }

    func run() throws {
        let directory = try execute ? common.open(writing: "delete segments by retention") : common.open()
        let plan = try LogStartPlan.retention(
            directory, topics: topics, now: WallClock.nowMillis(), keepUnconsumed: keepUnconsumed,
            groups: LocalStore(directory))
        LogStartOutput.warnLosses(plan, executing: execute)
        let changes = execute ? try plan.execute(in: directory, shouldStop: { Interruption.requested }) : nil
        try LogStartOutput.show(plan, executed: changes, json: json)
    }
}
