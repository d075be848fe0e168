import ArgumentParser

struct RedistributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redistribute",
        abstract: "Drain a group's backlog into a temporary topic with N times the partitions, for N times the consumers.",
        discussion: """
            The recipe for a backlog: stop (and fix) the group's consumers; 'redistribute start TOPIC --group G \
            --execute' copies G's backlog (from G's committed offsets to the end) into a temporary topic with \
            --factor (default 10) times the partitions and moves G's offsets past it, so G's consumers, \
            restarted, continue after the backlog; N times as many consumers drain the temporary topic with \
            the drain group; 'redistribute finish' deletes the temporary topic once it is drained.

            NAMES: the temporary topic is TOPIC.G.xFACTOR (G's characters outside [A-Za-z0-9._-] become '_'; \
            --into chooses another name) and names the redistribution; the drain group is NAME.drain, \
            committed at the beginning of every temporary partition. The record of each redistribution (a \
            checkpoint, kept after finish with the outcome) is .sluice/redistributions/NAME.redistribution.

            DRAINING with nothing but sluice (PROCESS stands for the fixed consumer,
            reading records on stdin):
              one process per temporary partition (30 for 3 partitions x 10):
                for i in $(seq 0 29); do
                  sluice consume NAME --group NAME.drain --partition $i | PROCESS &
                done; wait
              or one consumer per core, splitting the partitions fairly:
                for i in $(seq $(nproc)); do
                  sluice consume NAME --group NAME.drain | PROCESS &
                done; wait
              then, e.g. from cron:
                sluice redistribute status NAME --check &&
                  sluice redistribute finish NAME
            """,
        subcommands: [RedistributeStart.self, RedistributeStatus.self, RedistributeFinish.self])
}
