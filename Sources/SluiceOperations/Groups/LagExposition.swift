import SluiceCore

/// `lag --format prometheus`: the Prometheus text exposition format (0.0.4),
/// for node_exporter's textfile collector (`sluice lag --format prometheus >
/// dir/sluice.prom.tmp && mv ... sluice.prom` from cron). Every metric is
/// one HELP and one TYPE line followed by all its samples; label values are
/// escaped (backslash, double quote, newline); no timestamps, as the textfile
/// collector requires. Unknown values are left out.
extension LagReport {
    typealias Metric<Row> = (name: String, help: String, value: @Sendable (Row) -> String?)

    static let topicMetrics: [Metric<TopicLag>] = [
        ("sluice_group_topic_lag_records", "The group's total lag over the topic's partitions.", { $0.lag.map(String.init) }),
        ("sluice_group_topic_lag_seconds", "The largest lag in time over the topic's partitions.", { $0.lagMillis.map(seconds) }),
    ]

    static let partitionMetrics: [Metric<PartitionLag>] = [
        (
            "sluice_group_lag_records", "Records of the partition the group has not consumed: log-end offset minus committed offset.",
            { $0.lag.map(String.init) }
        ),
        (
            "sluice_group_lag_seconds",
            "Age of the oldest unconsumed record: now minus the timestamp of the record at the committed offset (0 when caught up).",
            { $0.lagMillis.map(seconds) }
        ),
        ("sluice_group_committed_offset", "The group's committed offset.", { $0.committed.map(String.init) }),
        ("sluice_group_log_end_offset", "The partition's log-end offset.", { $0.logEnd.map(String.init) }),
        (
            "sluice_group_consume_rate", "Records per second the group consumed over its last commits.",
            { $0.consumeRate.map { String(($0 * 1000).rounded() / 1000) } }
        ),
        (
            "sluice_group_last_commit_timestamp_seconds", "When the group last committed the partition (Unix time).",
            { $0.lastCommit.map(seconds) }
        ),
    ]

    public var prometheus: String {
        let out = ByteBuffer(capacity: 1 << 20)
        func header(_ name: String, _ help: String) {
            out.append("# HELP \(name) \(Self.escape(help, quotes: false))\n# TYPE \(name) gauge\n")
        }
        func sample(_ name: String, _ labels: String, _ value: String) {
            out.append(name)
            out.append(UInt8(ascii: "{"))
            out.append(labels)
            out.append(ascii: "} ")
            out.append(value)
            out.append(UInt8(ascii: "\n"))
        }
        header("sluice_group_active", "1 while a consumer of the group holds a lease, else 0.")
        for group in groups {
            sample("sluice_group_active", "group=\"\(Self.escape(group.group, quotes: true))\"", group.active ? "1" : "0")
        }
        var topics: [(labels: String, topic: TopicLag)] = []
        var rows: [(labels: String, row: PartitionLag)] = []
        for group in groups {
            for topic in group.topics {
                let labels = "group=\"\(Self.escape(group.group, quotes: true))\",topic=\"\(Self.escape(topic.topic, quotes: true))\""
                topics.append((labels, topic))
                for row in topic.partitions { rows.append((labels + ",partition=\"\(row.partition)\"", row)) }
            }
        }
        for (name, help, value) in Self.topicMetrics where topics.contains(where: { value($0.topic) != nil }) {
            header(name, help)
            for (labels, topic) in topics { if let v = value(topic) { sample(name, labels, v) } }
        }
        for (name, help, value) in Self.partitionMetrics where rows.contains(where: { value($0.row) != nil }) {
            header(name, help)
            for (labels, row) in rows { if let v = value(row) { sample(name, labels, v) } }
        }
        if !rows.isEmpty {
            header(
                "sluice_group_status",
                """
                The partition's status (OK, WARN, STALLED, STOPPED, REWOUND, \
                UNKNOWN; see 'sluice lag --help') in the status label; always 1.
                """
            )
            for (labels, row) in rows { sample("sluice_group_status", labels + ",status=\"\(row.status.rawValue)\"", "1") }
        }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    static func seconds(_ millis: Int64) -> String {
        millis % 1000 == 0 ? String(millis / 1000) : String(Double(millis) / 1000)
    }

    /// Escapes backslashes and newlines (HELP text), and double quotes too (label values).
    static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
