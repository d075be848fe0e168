import SluiceCore
import SluiceStore

extension ProduceSummary {
    /// `produce --json` summary, schema version 1.
    public func json(topic: String) -> JSONValue {
        [
            "version": 1,
            "topic": .string(topic),
            "records": .int(records),
            "bytes": .int(bytes),
            "batches": .int(batches),
            "partitions": .array(
                partitions.keys.sorted().map { p in
                    let entry = partitions[p]!
                    return [
                        "partition": JSONValue(p), "records": .int(entry.records),
                        "first_offset": .int(entry.firstOffset), "next_offset": .int(entry.nextOffset),
                    ]
                }),
        ]
    }
}
