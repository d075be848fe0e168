import SluiceCore

/// `lag --format prometheus`: the Prometheus text exposition format (0.0.4),
/// for node_exporter's textfile collector (`sluice lag --format prometheus >
/// dir/sluice.prom.tmp && mv ... sluice.prom` from cron). Every metric is
/// one HELP and one TYPE line followed by all its samples; label values are
/// escaped (backslash, double quote, newline); no timestamps, as the textfile
/// collector requires. Unknown values are left out.
extension LagReport {
    struct Metric {
        let name: String
        let help: String
        var samples: [(labels: [(String, String)], value: String)] = []
    }

    public var prometheus: String {
        var partitionMetrics = [
            Metric(name: "sluice_group_lag_records", help: "Records of the partition the group has not consumed: log-end offset minus committed offset."),
            Metric(name: "sluice_group_lag_seconds", help: "Age of the oldest unconsumed record: now minus the timestamp of the record at the committed offset (0 when caught up)."),
            Metric(name: "sluice_group_committed_offset", help: "The group's committed offset."),
            Metric(name: "sluice_group_log_end_offset", help: "The partition's log-end offset."),
            Metric(name: "sluice_group_consume_rate", help: "Records per second the group consumed over its last commits."),
            Metric(name: "sluice_group_last_commit_timestamp_seconds", help: "When the group last committed the partition (Unix time)."),
            Metric(name: "sluice_group_status", help: "The partition's status (OK, WARN, STALLED, STOPPED, REWOUND, UNKNOWN; see 'sluice lag --help') in the status label; always 1."),
        ]
        var topicMetrics = [
            Metric(name: "sluice_group_topic_lag_records", help: "The group's total lag over the topic's partitions."),
            Metric(name: "sluice_group_topic_lag_seconds", help: "The largest lag in time over the topic's partitions."),
            Metric(name: "sluice_group_active", help: "1 while a consumer of the group holds a lease, else 0."),
        ]
        for group in groups {
            topicMetrics[2].samples.append(([("group", group.group)], group.active ? "1" : "0"))
            for topic in group.topics {
                let topicLabels = [("group", group.group), ("topic", topic.topic)]
                if let lag = topic.lag { topicMetrics[0].samples.append((topicLabels, String(lag))) }
                if let millis = topic.lagMillis { topicMetrics[1].samples.append((topicLabels, Self.seconds(millis))) }
                for row in topic.partitions {
                    let labels = topicLabels + [("partition", String(row.partition))]
                    let values: [String?] = [
                        row.lag.map(String.init), row.lagMillis.map(Self.seconds), row.committed.map(String.init),
                        row.logEnd.map(String.init), row.consumeRate.map { String(($0 * 1000).rounded() / 1000) },
                        row.lastCommit.map(Self.seconds),
                    ]
                    for (i, value) in values.enumerated() { if let value { partitionMetrics[i].samples.append((labels, value)) } }
                    partitionMetrics[6].samples.append((labels + [("status", row.status.rawValue)], "1"))
                }
            }
        }
        var lines: [String] = []
        for metric in topicMetrics + partitionMetrics where !metric.samples.isEmpty {
            lines.append("# HELP \(metric.name) \(Self.escape(metric.help, quotes: false))")
            lines.append("# TYPE \(metric.name) gauge")
            for (labels, value) in metric.samples {
                lines.append(metric.name + "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1, quotes: true))\"" }.joined(separator: ",") + "} " + value)
            }
        }
        return lines.joined(separator: "\n") + "\n"
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
