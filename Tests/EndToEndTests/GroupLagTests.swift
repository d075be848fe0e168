import Foundation
import SluiceCore
import TestSupport
import Testing

/// `lag`, `group list` and `group describe` on a scenario with known offsets and timestamps.
@Suite struct GroupLagTests {
    static let t0: Int64 = 1_700_000_000_000

    /// "orders": 100, 50, 0 and 10 records stamped t0 + i s. Group "billing" committed orders-0 at 40,
    /// orders-1 at its end, the empty orders-2 at 0, never orders-3. Group "audit" committed both
    /// partitions of "gone" at 2, then "gone" was deleted.
    func scenario() throws -> GroupStore {
        let store = try GroupStore()
        try store.topic("orders", counts: [100, 50, 0, 10])
        try store.ok(["group", "seek", "billing", "--topic", "orders:0", "--to-offset", "40", "--execute"])
        try store.ok(["group", "seek", "billing", "--topic", "orders:1", "--to-latest", "--execute"])
        try store.ok(["group", "seek", "billing", "--topic", "orders:2", "--to-earliest", "--execute"])
        try store.topic("gone", counts: [5, 5])
        try store.ok(["group", "seek", "audit", "--topic", "gone", "--to-offset", "2", "--execute"])
        try store.ok(["topic", "delete", "gone", "--yes"])
        return store
    }

    @Test func exactLagNumbers() throws {
        let store = try scenario()
        let report = try store.lag([])
        let now = try #require(report["generated_at"]?.int64Value)
        let groups = try #require(report["groups"]?.arrayValue)
        #expect(groups.map { $0["group"]?.stringValue } == ["audit", "billing"])

        let billing = groups[1]
        #expect(billing["state"]?.stringValue == "inactive")
        #expect(billing["lag"]?.int64Value == 60)
        let orders = try #require(billing["topics"]?.arrayValue?.first)
        #expect(orders["topic_exists"]?.boolValue == true)
        #expect(orders["lag"]?.int64Value == 60)
        #expect(orders["lag_ms"]?.int64Value == now - (Self.t0 + 40_000))
        #expect(orders["status"]?.stringValue == "STOPPED")
        let rows = try #require(orders["partitions"]?.arrayValue)
        func column(_ name: String) -> [Int64?] { rows.map { $0[name]?.int64Value } }
        #expect(column("partition") == [0, 1, 2, 3])
        #expect(column("committed_offset") == [40, 50, 0, nil])
        #expect(column("log_start_offset") == [0, 0, 0, 0])
        #expect(column("log_end_offset") == [100, 50, 0, 10])
        #expect(column("lag") == [60, 0, 0, nil])
        #expect(column("lag_ms") == [now - (Self.t0 + 40_000), 0, 0, nil])
        #expect(rows.map { $0["status"]?.stringValue } == ["STOPPED", "OK", "OK", "UNKNOWN"])
        #expect(rows[0]["eta_ms"]?.isNull == true && rows[1]["eta_ms"]?.int64Value == 0)

        let audit = groups[0]
        let gone = try #require(audit["topics"]?.arrayValue?.first)
        #expect(gone["topic"]?.stringValue == "gone" && gone["topic_exists"]?.boolValue == false)
        #expect(gone["partitions"]?.arrayValue?.map { $0["committed_offset"]?.int64Value } == [2, 2])
        #expect(gone["partitions"]?.arrayValue?.allSatisfy { $0["log_end_offset"]?.isNull == true && $0["lag"]?.isNull == true } == true)
        #expect(gone["status"]?.stringValue == "UNKNOWN" && gone["lag"]?.isNull == true && audit["lag"]?.isNull == true)

        let table = try store.ok(["lag"]).out
        let cells = table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(cells.contains(["audit", "gone", "(deleted)", "2", "-", "-", "-", "-", "UNKNOWN"]), "\(table)")
        #expect(cells.contains { $0.prefix(4) == ["billing", "orders", "4", "60"] && $0.contains("STOPPED") }, "\(table)")
        let filtered = try store.lag(["--topic", "orders"])
        #expect(filtered["groups"]?.arrayValue?.map { $0["group"]?.stringValue } == ["billing"])
    }

    @Test func thresholdsForCron() throws {
        let store = try scenario()
        #expect(try store.sluice(["lag", "--max-lag", "60"]).status == 0)
        let over = try store.sluice(["lag", "--max-lag", "59", "--format", "prometheus"])
        #expect(over.status == 2)
        #expect(
            over.out.contains(#"sluice_group_lag_records{group="billing",topic="orders",partition="0"} 60"#), "the report is still printed")
        #expect(over.errorLines == ["error: lag above threshold in 1 partition: group 'billing' orders-0 lag 60 > 59"])
        let old = try store.sluice(["lag", "billing", "--max-lag-seconds", "3600"])
        #expect(old.status == 2)
        #expect(
            old.errorLines.count == 1 && old.errorLines[0].contains("group 'billing' orders-0 lag ")
                && old.errorLines[0].contains("> 3600s"))
    }

    @Test func listAndDescribe() throws {
        let store = try scenario()
        let list = try JSONValue.parse(try store.ok(["group", "list", "--json"]).out)
        let groups = try #require(list["groups"]?.arrayValue)
        #expect(groups.map { $0["group"]?.stringValue } == ["audit", "billing"])
        #expect(
            groups.map { $0["lag"]?.int64Value } == [nil, 60], "a group whose only topic was deleted has no known lag (issue 16, item 9)")
        #expect(groups.map { $0["partitions"]?.intValue } == [2, 3])
        #expect(groups.map { $0["state"]?.stringValue } == ["inactive", "inactive"])
        let describe = try JSONValue.parse(try store.ok(["group", "describe", "billing", "--json"]).out)
        #expect(describe["version"]?.intValue == 1 && describe["lag"]?.int64Value == 60)
        #expect(describe["members"]?.arrayValue?.isEmpty == true)
        let text = try store.ok(["group", "describe", "billing"]).out
        #expect(text.hasPrefix("Group: billing  State: inactive  Members: 0  Lag: 60"), "\(text)")
    }
}
