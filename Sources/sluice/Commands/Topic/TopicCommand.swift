import ArgumentParser

struct TopicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Create, list, describe, alter, delete and migrate topics.",
        subcommands: [TopicCreate.self, TopicList.self, TopicDescribe.self, TopicAlter.self, TopicDelete.self, TopicMigrate.self])
}
