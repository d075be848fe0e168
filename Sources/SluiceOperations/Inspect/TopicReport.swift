import SluiceCore
import SluiceStorage

/// What `topic describe` and `topic list` report: the topic's metadata and a
/// summary per partition, each O(1) in the partition's size.
public struct TopicReport: Sendable {
    public let name: String
    public let id: String
    public let partitionCount: Int
    public let config: [(String, String)]
    public let partitions: [PartitionSummary]

    public static func make(_ topic: Topic) throws -> TopicReport {
        TopicReport(name: topic.name, id: topic.metadata.id, partitionCount: topic.partitionCount,
                    config: topic.config.entries, partitions: try topic.partitions().map { try $0.summary() })
    }

    public var records: Int64 { partitions.reduce(0) { $0 + $1.records } }
    public var bytes: Int64 { partitions.reduce(0) { $0 + $1.bytes } }

    /// `topic describe --json`, schema version 1.
    public var json: JSONValue {
        [
            "version": 1,
            "topic": .string(name),
            "id": .string(id),
            "partition_count": JSONValue(partitionCount),
            "records": .int(records),
            "bytes": .int(bytes),
            "config": .object(config.map { ($0.0, .string($0.1)) }),
            "partitions": .array(partitions.map(\.json)),
        ]
    }

    /// One entry of `topic list --json`.
    public var listJSON: JSONValue {
        ["topic": .string(name), "partitions": JSONValue(partitionCount), "records": .int(records), "bytes": .int(bytes)]
    }
}

extension PartitionSummary {
    public var json: JSONValue {
        [
            "partition": JSONValue(partition),
            "log_start_offset": .int(logStartOffset),
            "end_offset": .int(endOffset),
            "records": .int(records),
            "bytes": .int(bytes),
            "segments": JSONValue(segments),
            "oldest_timestamp": JSONValue(oldestTimestamp),
            "newest_timestamp": JSONValue(newestTimestamp),
            "tail_problem": JSONValue(tailProblem),
        ]
    }
}
