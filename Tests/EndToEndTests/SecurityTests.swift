import Foundation
import SluiceCore
import TestSupport
import Testing

/// Names, modes, links and sizes an attacker (or an accident) controls can
/// never make sluice write outside its data directory, create files others
/// may write, follow a planted symbolic link, or allocate what a file merely
/// declares.
@Suite struct SecurityTests {
    /// A copy of the known store, a directory beside it that must stay as it
    /// is, and a snapshot of both.
    struct Sandbox {
        let dir = TemporaryDirectory("sluice-security")
        var store: String { dir.path + "/store" }
        var outside: String { dir.path + "/outside" }

        init() throws {
            try Reliability.copy(KnownStore.store, to: store)
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try Reliability.write("keep me\n", to: outside + "/sentinel")
        }

        /// Every path under `outside` with its bytes, and the other entries beside the store.
        func everythingOutsideTheStore() throws -> [String: Data] {
            var out: [String: Data] = [:]
            for sub in try FileManager.default.subpathsOfDirectory(atPath: outside) {
                let full = outside + "/" + sub
                let attributes = try FileManager.default.attributesOfItem(atPath: full)
                out[sub] =
                    attributes[.type] as? FileAttributeType == .typeRegular ? try Data(contentsOf: URL(fileURLWithPath: full)) : Data()
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name != "store" && name != "outside" {
                out["../" + name] = Data()
            }
            return out
        }
    }

    // MARK: - names

    static let hostileTopicNames = [
        "..", ".", "../escape", "a/b", "/abs", "a\\b", String(repeating: "n", count: 250),
        String(repeating: "l", count: 5000), "a b", "naïve", "a*b", "a:b", "__internal", "", "tab\there",
        "new\nline", "-\u{7F}",
    ]

    /// Every command that takes a topic name, with the name in place.
    static func topicCommands(_ name: String, archive: String) -> [[String]] {
        [
            ["topic", "create", name], ["topic", "alter", name, "-c", "retention.ms=1"], ["topic", "delete", name, "--yes"],
            ["topic", "describe", name], ["produce", name], ["consume", name], ["consume", name, "--group", "g"],
            ["export", name, "-o", "/tmp/sluice-never-\(getpid()).tar.zst"], ["import", archive, "--topic", name],
            ["group", "seek", "g", "--topic", name, "--to-earliest", "--execute"], ["verify", name],
        ]
    }

    @Test func hostileTopicNamesAreRefusedAndChangeNothing() throws {
        let sandbox = try Sandbox()
        let before = try Reliability.snapshot(sandbox.store)
        let outside = try sandbox.everythingOutsideTheStore()
        for name in Self.hostileTopicNames {
            for arguments in Self.topicCommands(name, archive: KnownStore.archive) {
                let result = try Reliability.run(arguments, sandbox.store, stdin: Data("x\n".utf8))
                #expect(result.status == 64 || result.status == 1, "\(arguments.map(\.debugDescription)): exited \(result.status)")
                #expect(
                    result.errorLines.count == 1 && result.errorLines[0].hasPrefix("error: "),
                    "\(arguments.map(\.debugDescription)): \(result.err)")
            }
        }
        #expect(try Reliability.snapshot(sandbox.store) == before, "a refused name changed the data directory")
        #expect(try sandbox.everythingOutsideTheStore() == outside, "a refused name wrote outside the data directory")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/sluice-never-\(getpid()).tar.zst"))
    }

    /// The longest names Kafka allows work for every write, which puts
    /// suffixes after them (temporary files, deleted directories, repairs).
    @Test func theLongestTopicNameWorksEverywhere() throws {
        let sandbox = try Sandbox()
        let name = String(repeating: "t", count: 249)
        try Reliability.ok(["topic", "create", name, "-p", "2"], sandbox.store)
        try Reliability.ok(["topic", "alter", name, "-c", "retention.ms=3600000"], sandbox.store)
        try Reliability.ok(["produce", name], sandbox.store, stdin: Data("a\nb\n".utf8))
        try Reliability.ok(["consume", name, "--group", String(repeating: "g", count: 249)], sandbox.store)
        try Reliability.ok(["export", name, "-o", sandbox.dir.path + "/" + String(repeating: "e", count: 240)], sandbox.store)
        try Reliability.ok(
            ["import", sandbox.dir.path + "/" + String(repeating: "e", count: 240), "--topic", name, "--append"], sandbox.store)
        // A torn write to repair: the side directory is named after the partition.
        let log = sandbox.store + "/\(name)-0/00000000000000000000.log"
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 7, count: 100))
        handle.closeFile()
        try Reliability.ok(["verify", "--repair", name], sandbox.store)
        try Reliability.ok(["topic", "delete", name, "--yes"], sandbox.store)
        #expect(Reliability.entries(sandbox.store, prefix: "ttt").isEmpty)
        #expect(try sandbox.everythingOutsideTheStore().keys.sorted() == ["../" + String(repeating: "e", count: 240), "sentinel"])
    }

    static let oddGroupNames = [
        "../escape", "..", ".", "a/b", "/", "%2e%2e", "ü/../x", ".hidden", String(repeating: "ü", count: 124),
        String(repeating: "/..", count: 83),
    ]

    /// Kafka allows nearly any group name; sluice stores them encoded, so
    /// each works and stays inside `.sluice/groups`, and the invalid ones
    /// (empty, control characters, over 249 bytes) are refused.
    @Test func groupNamesStayInsideTheDataDirectory() throws {
        let sandbox = try Sandbox()
        let outside = try sandbox.everythingOutsideTheStore()
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: sandbox.store))
        for name in Self.oddGroupNames {
            try Reliability.ok(["consume", "t", "--group", name, "-c", "5", "--format", "%o\\n"], sandbox.store)
            try Reliability.ok(["group", "seek", name, "--topic", "t", "--to-offset", "3", "--execute"], sandbox.store)
            #expect(try Reliability.committed(name, topic: "t", sandbox.store)[0] == 3, "\(name)")
            try Reliability.ok(["group", "rollback", name, "--steps", "1", "--execute"], sandbox.store)
            try Reliability.ok(["group", "delete", name], sandbox.store)
        }
        for name in ["", "tab\there", "bell\u{7}", String(repeating: "x", count: 250), String(repeating: "ü", count: 125)] {
            for arguments in [
                ["consume", "t", "--group", name], ["group", "seek", name, "--topic", "t", "--to-earliest", "--execute"],
                ["group", "delete", name], ["lag", name],
            ] {
                let result = try Reliability.run(arguments, sandbox.store)
                #expect(result.status == 64, "\(arguments.map(\.debugDescription)): exited \(result.status): \(result.err)")
            }
        }
        #expect(try sandbox.everythingOutsideTheStore() == outside)
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: sandbox.store)) == entries,
            "group names made entries in the data directory")
    }

    /// What an archive's manifest says reaches the file system only through
    /// the same checks: a hostile topic name or partition count is refused
    /// (the archive hostile-input tests cover paths, links and sizes).
    @Test(arguments: [
        "../escape", "a/b", "a\u{0}b", "..", String(repeating: "x", count: 300), "__consumer_offsets", "ok|partitions=-1",
        "ok|partitions=100001", "ok|partitions=2147483648",
    ])
    func archiveManifestsCannotNameTheirWayOut(_ hostile: String) throws {
        let sandbox = try Sandbox()
        var tar = TarEdit(bytes: try ArchiveStore.decompress(KnownStore.archive))
        try tar.editJSON("manifest.json") { manifest in
            var topic = manifest["topic"] as! [String: Any]
            if hostile.hasPrefix("ok|partitions=") {
                topic["partitions"] = Int(hostile.dropFirst(14))!
            } else {
                topic["name"] = hostile
            }
            manifest["topic"] = topic
        }
        let archive = sandbox.dir.path + "/hostile.tar.zst"
        try ArchiveStore.compress(tar.bytes, to: archive)
        let before = try Reliability.snapshot(sandbox.store)
        let outside = try sandbox.everythingOutsideTheStore()
        let result = try Reliability.run(["import", archive], sandbox.store)
        #expect(result.status != 0, "\(hostile.debugDescription) was imported")
        #expect(result.errorLines.count == 1 && result.errorLines[0].hasPrefix("error: "), "\(result.err)")
        #expect(try Reliability.snapshot(sandbox.store) == before)
        #expect(try sandbox.everythingOutsideTheStore() == outside)
    }

    // MARK: - modes

    /// Every file and directory made by each write command, under a given umask.
    func modes(umask: String) throws -> [String: Int] {
        let sandbox = try Sandbox()
        let data = sandbox.dir.path + "/fresh"
        let sluice = "'\(SluiceProcess.binary)'"
        let script = """
            umask \(umask); export SLUICE_DATA_DIR='\(data)'
            \(sluice) topic create m -p 2 && printf 'a\\nb\\n' | \(sluice) produce m && \(sluice) consume m --group g >/dev/null \
            && \(sluice) import '\(KnownStore.archive)' --topic copy --with-groups \
            && \(sluice) export m -o '\(sandbox.dir.path)/m.tar.zst' \
            && \(sluice) group seek g --topic m --to-earliest --execute >/dev/null && \(sluice) verify --repair >/dev/null
            """
        let run = try ArchiveStore.shell(script)
        #expect(run.status == 0, "\(run.err)")
        var out: [String: Int] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: data) + ["../m.tar.zst"] {
            out[sub] = (try FileManager.default.attributesOfItem(atPath: data + "/" + sub)[.posixPermissions] as? Int) ?? -1
        }
        return out
    }

    @Test func filesFollowTheUmaskAndAreNeverWorldWritable() throws {
        for (path, mode) in try modes(umask: "000") {
            #expect(mode & 0o002 == 0, "\(path) is world-writable (\(String(mode, radix: 8))) under umask 000")
        }
        for (path, mode) in try modes(umask: "077") {
            #expect(mode & 0o077 == 0, "\(path) has mode \(String(mode, radix: 8)) under umask 077")
        }
    }

    // MARK: - planted symbolic links

    /// Where a link may be planted, relative to the store. Each points at a
    /// copy of what it replaces in `outside` (so it looks plausible), or at
    /// nothing (a dangling link a create could follow).
    static let plantSites = [
        "t-0", "t-0/00000000000000000000.log", "t-0/00000000000000000000.index", "t-0/00000000000000000000.timeindex",
        "t-3", "t-4", "new-0", "copy-0", "dest-0", "dest-0/00000000000000000000.log", "dest-0/sluice-pending-append",
        ".sluice", ".sluice/topics", ".sluice/topics/t.topic", ".sluice/topics/new.topic", ".sluice/admin.lock",
        ".sluice/staging", ".sluice/repairs", ".sluice/groups", ".sluice/groups/state", ".sluice/groups/live",
        "log-start-offset-checkpoint", "offsets-partition", "offsets-partition-log", "snapshot", "offsets-lock",
        ".sluice/groups/live/g", ".sluice/groups/live/g/leases",
    ]

    /// Every write command, each from a fresh copy.
    static func writeCommands() -> [[String]] {
        [
            ["produce", "t"], ["produce", "dest", "-p", "0"], ["consume", "t", "--group", "g"],
            ["consume", "t", "--group", "fresh", "-c", "3"],
            ["topic", "create", "new", "-p", "2"], ["topic", "alter", "t", "-p", "5"], ["topic", "alter", "t", "-c", "retention.ms=5"],
            ["topic", "delete", "t", "--yes"], ["group", "seek", "g", "--topic", "t", "--to-earliest", "--execute"],
            ["group", "rollback", "g", "--steps", "1", "--execute"], ["group", "delete", "g"],
            ["import", KnownStore.archive, "--topic", "copy"], ["import", KnownStore.archive, "--topic", "dest", "--append"],
            ["verify", "--repair"],
        ]
    }

    /// Resolves the symbolic sites to real paths of the known store.
    static func resolve(_ site: String, in store: String) throws -> String {
        let offsets = try offsetsPartition(of: "g", in: store)
        switch site {
        case "offsets-partition": return offsets
        case "offsets-partition-log": return offsets + "/00000000000000000000.log"
        case "snapshot": return ".sluice/groups/state/\(offsets).snapshot"
        case "offsets-lock": return ".sluice/groups/state/\(offsets).lock"
        default: return site
        }
    }

    /// The `__consumer_offsets-N` directory holding a group's commits (the one whose log is not empty).
    static func offsetsPartition(of group: String, in store: String) throws -> String {
        try Reliability.ok(["group", "describe", group], store)
        for name in Reliability.entries(store, prefix: "__consumer_offsets-") {
            let size =
                (try? FileManager.default.attributesOfItem(atPath: store + "/" + name + "/00000000000000000000.log")[.size] as? Int) ?? 0
            if size > 0 { return name }
        }
        throw TrialFailure("no offsets partition has commits")
    }

    /// Every site with every write command in `make test-crash`; a seeded
    /// sample of 20 pairs per kind of link in `make test`.
    @Test(arguments: [false, true])
    func noCommandFollowsAPlantedLink(dangling: Bool) throws {
        var followed: [String] = []
        let template = try Sandbox()
        let sites = try Self.plantSites.map { try Self.resolve($0, in: template.store) }
        var pairs = sites.flatMap { site in Self.writeCommands().map { (site, $0) } }
        if !Reliability.isLongForm {
            var random = SeededRandom(seed: Reliability.seed(dangling ? 77 : 78))
            pairs = (0..<20).map { _ in pairs[Int.random(in: 0..<pairs.count, using: &random)] }
        }
        for (site, arguments) in pairs {
            let sandbox = try Sandbox()
            let planted = sandbox.store + "/" + site
            let target = sandbox.outside + "/target"
            if !dangling {
                if FileManager.default.fileExists(atPath: planted) {
                    try FileManager.default.copyItem(atPath: planted, toPath: target)
                } else {
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                }
            }
            try? FileManager.default.removeItem(atPath: planted)
            try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: target)
            let before = try sandbox.everythingOutsideTheStore()
            _ = try Reliability.run(arguments, sandbox.store, stdin: Data("x\ny\n".utf8))
            if try sandbox.everythingOutsideTheStore() != before {
                followed.append("\(arguments.joined(separator: " ")) followed \(site)")
            }
        }
        #expect(followed.isEmpty, "\(followed.count) commands wrote through a planted link:\n\(followed.joined(separator: "\n"))")
    }

    // MARK: - declared sizes

    /// Files whose size claims far more than any real one, read under a
    /// 400 MiB address-space limit: each command refuses or copes, and none
    /// allocates what the file declares.
    @Test func declaredSizesAreBoundedBeforeAllocation() throws {
        let cases: [(site: String, commands: [[String]])] = [
            (
                "t-0/00000000000000000000.index",
                [["verify", "t"], ["consume", "t", "-p", "0", "--from", "700", "-c", "1"], ["produce", "t", "-p", "0"]]
            ),
            ("t-0/00000000000000000000.timeindex", [["verify", "t"], ["consume", "t", "-p", "0", "--from", "@0", "-c", "1"]]),
            (".sluice/topics/t.topic", [["topic", "describe", "t"], ["topic", "list"]]),
            ("snapshot", [["lag", "g"], ["group", "seek", "g", "--topic", "t", "--to-earliest", "--execute"]]),
            (".sluice/format", [["topic", "list"]]),
            ("log-start-offset-checkpoint", [["topic", "list"]]),
        ]
        for (site, commands) in cases {
            let sandbox = try Sandbox()
            let path = sandbox.store + "/" + (site == "snapshot" ? try Self.resolve("snapshot", in: sandbox.store) : site)
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.truncate(atOffset: 3 << 30)
            handle.closeFile()
            for arguments in commands {
                let run = try Self.runLimited(arguments, sandbox.store)
                #expect(run.status <= 2, "\(site): \(arguments): exited \(run.status): \(run.err.suffix(300))")
            }
        }
    }

    /// A batch's declared length is framed before any buffer is sized from it.
    @Test func aBatchDeclaringAHugeLengthIsFramedNotAllocated() throws {
        let sandbox = try Sandbox()
        let log = sandbox.store + "/t-0/00000000000000000000.log"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: log)))
        let victim = SegmentBytes.batches(bytes)[3]
        for (i, b) in [UInt8(0x7F), 0xFF, 0xFF, 0xF0].enumerated() { bytes[victim.position + 8 + i] = b }
        try Data(bytes).write(to: URL(fileURLWithPath: log))
        for arguments in [["verify", "t"], ["consume", "t", "-p", "0"], ["produce", "t", "-p", "0"], ["verify", "--repair", "t"]] {
            let run = try Self.runLimited(arguments, sandbox.store)
            #expect(run.status <= 2, "\(arguments): \(run.err.suffix(300))")
        }
        #expect(
            try Reliability.records("t", sandbox.store, partition: 0).count == Int(victim.baseOffset),
            "repair keeps what precedes the damage")
    }

    /// Runs sluice under a 400 MiB address-space limit (an allocation sized
    /// from a declared size would fail and crash it); fails on a crash.
    static func runLimited(_ arguments: [String], _ dataDir: String) throws -> (status: Int32, out: String, err: String) {
        let run = try ArchiveStore.shell(
            """
            \(memoryLimitPrefix(mebibytes: 400))exec '\(SluiceProcess.binary)' \
            \(arguments.map { "'\($0)'" }.joined(separator: " ")) </dev/null
            """,
            environment: ["SLUICE_DATA_DIR": dataDir])
        if ![0, 1, 2, 64].contains(run.status) || run.err.contains("Fatal error") || run.err.contains("Program crashed") {
            throw TrialFailure("sluice \(arguments.joined(separator: " ")) crashed (status \(run.status)): \(run.err.suffix(400))")
        }
        return run
    }
}
