import Foundation
import SluiceCore
import TestSupport
import Testing

/// `sluice export`, `import` and `archive` through the binary.
@Suite struct ArchiveCommandTests {
    func consumeAll(_ topic: String, _ dataDir: String) throws -> [String] {
        try SluiceProcess.run(["consume", topic, "--format", "%p %o %T %k %v\\n"], dataDir: dataDir).out
            .split(separator: "\n").map(String.init).sorted()
    }

    @Test func exportPipedIntoImportReproducesTheTopic() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try ArchiveStore.make(data)
        let sluice = SluiceProcess.binary
        let piped = try ArchiveStore.shell(
            "'\(sluice)' export orders -o - | '\(sluice)' import - --topic copy",
            environment: ["SLUICE_DATA_DIR": data])
        #expect(piped.status == 0, "\(piped.err)")
        #expect(piped.out.contains("imported 3000 records from the archive on standard input into new topic 'copy'"))
        let original = try consumeAll("orders", data)
        #expect(original.count == 3000)
        #expect(try consumeAll("copy", data) == original)
        #expect(try SluiceProcess.run(["verify", "copy"], dataDir: data).status == 0)
    }

    @Test func tarListsAndUnpacksTheArchive() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try ArchiveStore.make(data, records: 8000)
        try ArchiveStore.export(data, to: dir.file("backup.tar.zst"))
        let listing = try ArchiveStore.shell("tar --zstd -tf '\(dir.file("backup.tar.zst"))'")
        #expect(listing.status == 0, "\(listing.err)")
        let names = listing.out.split(separator: "\n").map(String.init)
        #expect(names.first == "manifest.json" && names.last == "summary.json")
        let logs = names.dropFirst().dropLast()
        #expect(logs.count > 3)
        #expect(logs.allSatisfy { $0.range(of: #"^orders-[0-2]/[0-9]{20}\.log$"#, options: .regularExpression) != nil })

        try FileManager.default.createDirectory(atPath: dir.file("unpacked"), withIntermediateDirectories: false)
        let unpack = try ArchiveStore.shell("tar --zstd -xf '\(dir.file("backup.tar.zst"))' -C '\(dir.file("unpacked"))'")
        #expect(unpack.status == 0, "\(unpack.err)")
        for name in logs {
            #expect(
                FileManager.default.contents(atPath: dir.file("unpacked/" + name))
                    == FileManager.default.contents(atPath: data + "/" + name),
                "\(name) should unpack byte for byte as stored")
        }
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("unpacked/manifest.json"))))
            as! [String: Any]
        #expect(manifest["format"] as? String == "sluice-archive" && manifest["format_version"] as? Int == 1)
        // A cut slice unpacks to a segment named by its first offset, which Kafka's tools read as a log starting there.
        try ArchiveStore.export(data, to: dir.file("slice.tar.zst"), ["-p", "1", "--from-offset", "17", "--to-offset", "40"])
        let slice = try ArchiveStore.shell("tar --zstd -tf '\(dir.file("slice.tar.zst"))'")
        #expect(slice.out.contains("orders-1/00000000000000000017.log"))
    }

    @Test func jsonSummariesInspectionAndDryRuns() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try ArchiveStore.make(data)
        let plan = try SluiceProcess.run(["export", "orders", "-o", dir.file("never.tar.zst"), "--dry-run"], dataDir: data)
        #expect(plan.status == 0 && plan.out.contains("dry run: would export 3 partitions of 'orders'"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("never.tar.zst")))

        let export = try SluiceProcess.run(
            ["export", "orders", "-o", dir.file("a.tar.zst"), "--json", "--since", "0", "--level", "5", "--threads", "1"], dataDir: data)
        #expect(export.status == 0, "\(export.err)")
        let summary = try JSONSerialization.jsonObject(with: export.stdout) as! [String: Any]
        #expect(summary["version"] as? Int == 1 && summary["records"] as? Int == 3000 && summary["dry_run"] as? Bool == false)
        #expect((summary["partitions"] as? [[String: Any]])?.count == 3)

        let inspect = try SluiceProcess.run(["archive", "inspect", dir.file("a.tar.zst"), "--json"], dataDir: data)
        #expect(inspect.status == 0, "\(inspect.err)")
        let report = try JSONSerialization.jsonObject(with: inspect.stdout) as! [String: Any]
        #expect(report["integrity"] as? String == "ok")
        #expect((report["manifest"] as? [String: Any])?["tool"] as? String == "sluice 0.1.0")
        let text = try SluiceProcess.run(["archive", "inspect", dir.file("a.tar.zst")], dataDir: data)
        #expect(text.out.contains("topic 'orders': 3 partitions") && text.out.contains("integrity: ok"))
        let verify = try SluiceProcess.run(["archive", "verify", dir.file("a.tar.zst")], dataDir: data)
        #expect(verify.status == 0 && verify.out.contains(": ok — "))

        let before = try ArchiveStore.snapshot(data)
        let dry = try SluiceProcess.run(["import", dir.file("a.tar.zst"), "--append", "--dry-run", "--json"], dataDir: data)
        #expect(dry.status == 0, "\(dry.err)")
        let would = try JSONSerialization.jsonObject(with: dry.stdout) as! [String: Any]
        #expect(would["dry_run"] as? Bool == true && would["mode"] as? String == "append" && would["records"] as? Int == 3000)
        #expect(try ArchiveStore.snapshot(data) == before)
    }

    @Test func longTopicNamesTravelInPaxHeaders() throws {
        let dir = TemporaryDirectory()
        let name = "orders." + String(repeating: "x", count: 200)
        try ArchiveStore.expectSuccess(SluiceProcess.run(["topic", "create", name], dataDir: dir.file("data")))
        try ArchiveStore.expectSuccess(SluiceProcess.run(["produce", name], dataDir: dir.file("data"), stdin: Data("a\nb\nc\n".utf8)))
        try ArchiveStore.expectSuccess(SluiceProcess.run(["export", name, "-o", dir.file("long.tar.zst")], dataDir: dir.file("data")))
        let listing = try ArchiveStore.shell("tar --zstd -tf '\(dir.file("long.tar.zst"))'")
        #expect(listing.out.split(separator: "\n").contains { $0 == "\(name)-0/00000000000000000000.log" }, "\(listing.out)\(listing.err)")
        let imported = try SluiceProcess.run(["import", dir.file("long.tar.zst")], dataDir: dir.file("other"))
        #expect(imported.status == 0, "\(imported.err)")
        #expect(try SluiceProcess.run(["consume", name], dataDir: dir.file("other")).out == "a\nb\nc\n")
    }

    @Test func groupBacklogsAndOffsetsTravelWithTheArchive() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try ArchiveStore.make(data)
        try ArchiveStore.expectSuccess(
            SluiceProcess.run(["consume", "orders", "--group", "billing", "--max-messages", "1000"], dataDir: data))
        try ArchiveStore.expectSuccess(
            SluiceProcess.run(["consume", "orders", "--group", "audit", "-p", "2", "--max-messages", "7"], dataDir: data))
        func committed(_ group: String, _ topic: String, in dataDir: String) throws -> [Int: Int] {
            let describe = try SluiceProcess.run(["group", "describe", group, "--json"], dataDir: dataDir)
            let topics = (try JSONSerialization.jsonObject(with: describe.stdout) as! [String: Any])["topics"] as! [[String: Any]]
            let partitions = topics.first { $0["topic"] as? String == topic }?["partitions"] as? [[String: Any]] ?? []
            return Dictionary(
                uniqueKeysWithValues: partitions.compactMap { p in (p["committed_offset"] as? Int).map { (p["partition"] as! Int, $0) } })
        }
        let billing = try committed("billing", "orders", in: data)

        // --group: exactly the group's unconsumed backlog.
        let backlog = try SluiceProcess.run(
            ["export", "orders", "--group", "billing", "-o", dir.file("backlog.tar.zst"), "--json"], dataDir: data)
        #expect(backlog.status == 0, "\(backlog.err)")
        #expect((try JSONSerialization.jsonObject(with: backlog.stdout) as! [String: Any])["records"] as? Int == 2000)
        try ArchiveStore.expectSuccess(SluiceProcess.run(["import", dir.file("backlog.tar.zst"), "--topic", "rest"], dataDir: data))
        let unconsumed = try consumeAll("orders", data).filter { line in
            let fields = line.split(separator: " ")
            return Int(fields[1])! >= billing[Int(fields[0])!]!
        }
        #expect(try consumeAll("rest", data) == unconsumed)

        // --with-groups: every group's offsets, restored on import.
        try ArchiveStore.expectSuccess(
            SluiceProcess.run(["export", "orders", "--with-groups", "-o", dir.file("all.tar.zst")], dataDir: data))
        let imported = try SluiceProcess.run(["import", dir.file("all.tar.zst"), "--with-groups"], dataDir: dir.file("elsewhere"))
        #expect(imported.status == 0, "\(imported.err)")
        #expect(imported.out.contains("restored the committed offsets of 'audit', 'billing'"))
        #expect(try committed("billing", "orders", in: dir.file("elsewhere")) == billing)
        #expect(try committed("audit", "orders", in: dir.file("elsewhere")) == committed("audit", "orders", in: data))
        let resumed = try SluiceProcess.run(
            ["consume", "orders", "--group", "billing", "--format", "%p %o %T %k %v\\n"], dataDir: dir.file("elsewhere"))
        #expect(resumed.out.split(separator: "\n").map(String.init).sorted() == unconsumed, "a consumer resumes where it was")
    }

    /// A real broker's partitions (pinterest/tiered-storage test_topic_a, Apache-2.0;
    /// see ../shared/fixtures/kafka/README.md) export from the read-only broker
    /// directory and import into a sluice store unchanged.
    @Test func realKafkaPartitionsRoundTrip() throws {
        let dir = TemporaryDirectory()
        let broker = Fixtures.path("pinterest-test_topic_a")
        let export = try SluiceProcess.run(["export", "test_topic_a", "--data-dir", broker, "-o", dir.file("kafka.tar.zst"), "--json"])
        #expect(export.status == 0, "\(export.err)")
        let imported = try SluiceProcess.run(["import", dir.file("kafka.tar.zst"), "--json"], dataDir: dir.file("data"))
        #expect(imported.status == 0, "\(imported.err)")
        let result = try JSONSerialization.jsonObject(with: imported.stdout) as! [String: Any]
        #expect((result["partitions"] as! [[String: Any]]).map { $0["records"] as! Int } == [10_995, 10_019, 10_249])
        #expect(try SluiceProcess.run(["verify"], dataDir: dir.file("data")).status == 0)
        for p in 0..<3 {
            let logs = try FileManager.default.contentsOfDirectory(atPath: "\(broker)/test_topic_a-\(p)").filter { $0.hasSuffix(".log") }
            for log in logs {
                #expect(
                    FileManager.default.contents(atPath: "\(broker)/test_topic_a-\(p)/\(log)")
                        == FileManager.default.contents(atPath: dir.file("data/test_topic_a-\(p)/\(log)")), "\(log)")
            }
        }
    }

    static let usageCases: [(String, [String], String)] = [
        ("both modes", ["import", "x.tar.zst", "--append", "--preserve-offsets"], "cannot be combined"),
        ("json on stdout", ["export", "orders", "-o", "-", "--json"], "--json cannot be combined with -o -"),
        ("bad level", ["export", "orders", "-o", "x", "--level", "30"], "--level must be between 1 and 19"),
        ("missing archive", ["import", "/nonexistent/x.tar.zst"], "archive /nonexistent/x.tar.zst does not exist"),
        ("backwards range", ["export", "orders", "-o", "x", "--from-offset", "9", "--to-offset", "3"], "--to-offset must not be below"),
        ("unknown partition", ["export", "orders", "-o", "x", "-p", "9"], "has no partition 9"),
        ("groups with append", ["import", "x.tar.zst", "--append", "--with-groups"], "--with-groups needs the archived offsets"),
    ]

    @Test(arguments: usageCases)
    func usageErrors(label: String, arguments: [String], message: String) throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "orders"], dataDir: dir.path)
        let result = try SluiceProcess.run(arguments, dataDir: dir.path)
        #expect(result.status == 64, "\(label): \(result.err)")
        #expect(result.errorLines.count == 1 && result.errorLines.first?.hasPrefix("error: ") == true, "\(label): \(result.errorLines)")
        #expect(result.errorLines.first?.contains(message) == true, "\(label): \(result.errorLines)")
    }

    @Test func importIntoAnExistingTopicNeedsAppend() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try ArchiveStore.make(data)
        try ArchiveStore.export(data, to: dir.file("a.tar.zst"))
        let before = try ArchiveStore.snapshot(data)
        let refused = try SluiceProcess.run(["import", dir.file("a.tar.zst")], dataDir: data)
        #expect(
            refused.status == 64 && refused.errorLines.first?.contains("topic 'orders' already exists; pass --append") == true,
            "\(refused.err)")
        #expect(try ArchiveStore.snapshot(data) == before)
        let appended = try SluiceProcess.run(["import", dir.file("a.tar.zst"), "--append"], dataDir: data)
        #expect(appended.status == 0, "\(appended.err)")
        #expect(try consumeAll("orders", data).count == 6000)
        #expect(try SluiceProcess.run(["verify"], dataDir: data).status == 0)
    }
}
