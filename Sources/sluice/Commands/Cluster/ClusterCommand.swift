import ArgumentParser

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show the Kafka cluster the options select: its brokers and the protocol versions sluice speaks with it.",
        subcommands: [ClusterDescribe.self])
}
