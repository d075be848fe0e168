import SluiceCore
import SluiceStore

extension TopicDescription {
    /// `topic describe --json`, schema version 1.
    public var json: JSONValue {
        [
            "version": 1,
            "topic": .string(name),
            "id": .string(id),
            "partition_count": JSONValue(partitionCount),
            "records": .int(records),
            "bytes": JSONValue(bytes),
            "config": .object(config.map { ($0.0, .string($0.1)) }),
            "partitions": .array(partitions.map(\.json)),
        ]
    }

    /// One entry of `topic list --json`.
    public var listJSON: JSONValue {
        ["topic": .string(name), "partitions": JSONValue(partitionCount), "records": .int(records), "bytes": JSONValue(bytes)]
    }
}

extension PartitionSummary {
    public var json: JSONValue {
        [
            "partition": JSONValue(partition),
            "log_start_offset": .int(logStartOffset),
            "end_offset": .int(endOffset),
            "records": .int(records),
            "bytes": JSONValue(bytes),
            "segments": JSONValue(segments.map(Int64.init)),
            "oldest_timestamp": JSONValue(oldestTimestamp),
            "newest_timestamp": JSONValue(newestTimestamp),
            "tail_problem": JSONValue(tailProblem),
        ]
    }
}
