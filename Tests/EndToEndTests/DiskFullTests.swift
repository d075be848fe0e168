import Foundation
import SluiceCore
import TestSupport
import Testing

/// A small tmpfs the test mounts (it needs root; elsewhere the tests that
/// use it are skipped, saying so), holding a data directory, and a filler
/// file that takes every free byte.
final class SmallFileSystem: @unchecked Sendable {
    let path: String
    private let parent = TemporaryDirectory("sluice-diskfull")
    var filler: String { path + "/filler" }

    /// Whether this process may mount a tmpfs (tried once).
    static let mountable: Bool = {
        guard let probe = try? SmallFileSystem(size: "1m") else { return false }
        _ = probe
        return true
    }()

    static let skipReason: Comment = "mounting a tmpfs is not permitted here (the disk-full tests need root)"

    init(size: String) throws {
        path = parent.path + "/fs"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let mounted = try ArchiveStore.shell("mount -t tmpfs -o size=\(size),mode=0755 tmpfs '\(path)'")
        guard mounted.status == 0 else { throw ArchiveStore.Failure("mount: \(mounted.err)") }
    }

    deinit { _ = try? ArchiveStore.shell("umount '\(path)'") }

    /// Takes every free byte of the file system.
    func fill() throws {
        _ = try ArchiveStore.shell("dd if=/dev/zero of='\(filler)' bs=4k 2>/dev/null")
        let free = try ArchiveStore.shell("df --output=avail -B1 '\(path)' | tail -1").out.trimmingCharacters(in: .whitespacesAndNewlines)
        guard free == "0" else { throw ArchiveStore.Failure("the filler left \(free) bytes free") }
    }

    func free() throws { try FileManager.default.removeItem(atPath: filler) }
}

/// A data directory on a small file system: topic `orders` (2 partitions,
/// 20,000 records), group `prep` with committed offsets, and an archive of
/// `orders` outside the file system.
struct DiskFullStore {
    let fs: SmallFileSystem
    let outside = TemporaryDirectory("sluice-diskfull-outside")
    var path: String { fs.path + "/data" }
    var archive: String { outside.file("orders.tar.zst") }

    init() throws {
        fs = try SmallFileSystem(size: "8m")
        try FileManager.default.copyItem(atPath: GroupStore.template, toPath: path)
        try ok(["topic", "create", "orders", "-p", "2", "-c", "segment.bytes=65536"])
        try ok(["produce", "orders", "-K", ":"], stdin: (0..<20_000).map { "k\($0 % 50):value-\($0)" }.joined(separator: "\n"))
        try ok(["consume", "orders", "--group", "prep", "-c", "10"])
        try ok(["export", "orders", "-o", archive, "--quiet"])
    }

    func sluice(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> SluiceProcess.Result {
        try SluiceProcess.run(arguments, dataDir: path, stdin: stdin.map { Data($0.utf8) }, environment: environment)
    }

    @discardableResult
    func ok(_ arguments: [String], stdin: String? = nil) throws -> SluiceProcess.Result {
        let result = try sluice(arguments, stdin: stdin)
        guard result.status == 0 else { throw Failure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.err)") }
        return result
    }

    /// What readers can see: every segment and index, the metadata, the
    /// checkpoint and the offsets snapshots (not lock files, directories
    /// holding nothing but lock files, or group liveness files, which no
    /// reader reads as data).
    func visibleState() throws -> [String: Data] {
        var out: [String: Data] = [:]
        let subpaths = try FileManager.default.subpathsOfDirectory(atPath: path)
        let data = subpaths.filter { !$0.hasSuffix(".lock") }
        let lockDirectories = Set(subpaths.filter { $0.hasSuffix(".lock") }.map { ($0 as NSString).deletingLastPathComponent })
            .filter { directory in !data.contains { $0.hasPrefix(directory + "/") } }
        for sub in data {
            guard !sub.hasPrefix(".sluice/groups/live"), !sub.hasPrefix(".sluice/staging"), !lockDirectories.contains(sub) else { continue }
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path + "/" + sub, isDirectory: &isDirectory)
            out[sub] = isDirectory.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: path + "/" + sub))
        }
        return out
    }

    /// Every record of every topic, with its offset.
    func records() throws -> [String] {
        let topics = try JSONValue.parse(try ok(["topic", "list", "--json"]).out)["topics"]!.arrayValue!.map { $0["topic"]!.stringValue! }
        return try topics.flatMap { try ok(["consume", $0, "--format", "%t %p %o %k %v\\n"]).out.split(separator: "\n").map(String.init) }
    }

    /// Each partition's end offset, keyed as `committed` keys them.
    func ends(_ topic: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for row in try JSONValue.parse(try ok(["topic", "describe", topic, "--json"]).out)["partitions"]!.arrayValue! {
            out["\(topic)-\(row["partition"]!.intValue!)"] = row["end_offset"]!.int64Value!
        }
        return out
    }

    func committed(_ group: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        let lag = try JSONValue.parse(try ok(["lag", group, "--json"]).out)
        for topic in lag["groups"]?.arrayValue?.first?["topics"]?.arrayValue ?? [] {
            for row in topic["partitions"]!.arrayValue! {
                if let offset = row["committed_offset"]?.int64Value {
                    out["\(topic["topic"]!.stringValue!)-\(row["partition"]!.intValue!)"] = offset
                }
            }
        }
        return out
    }
}

/// One write that meets a full disk: how it is set up while there is
/// space, how it is run, and what its successful re-run leaves. Adding a
/// command to the disk-full tests is adding a case.
struct DiskFullCase: CustomStringConvertible, Sendable {
    let description: String
    var prepare: @Sendable (DiskFullStore) throws -> Void = { _ in }
    let arguments: [String]
    var stdin: String?
    /// A stream (produce): what was appended before the disk filled stays,
    /// valid and durable, and the error says how much it was.
    var streams = false
    let succeeded: @Sendable (DiskFullStore) throws -> Void

    /// After `redistribute start orders --group prep --into spread`: prep had
    /// consumed 10 records, the other 19,990 are in `spread` once each, and
    /// prep has moved past them.
    @Sendable static func expectBacklogCopiedOnce(_ store: DiskFullStore) throws {
        let values = try store.ok(["consume", "spread", "--format", "%v\\n"]).out.split(separator: "\n")
        #expect(values.count == 19_990 && Set(values).count == 19_990)
        #expect(try store.committed("prep") == store.ends("orders"))
    }

    static let all: [DiskFullCase] = [
        DiskFullCase(
            description: "produce", arguments: ["produce", "orders", "-K", ":"],
            stdin: (0..<50_000).map { "k\($0 % 50):more-\($0)" }.joined(separator: "\n"), streams: true
        ) { store throws in
            let values = try store.ok(["consume", "orders", "--format", "%v\n"]).out.split(separator: "\n")
            #expect(Set(values.filter { $0.hasPrefix("more-") }).count == 50_000)
        },
        DiskFullCase(
            description: "consume --group (a new group commits)", arguments: ["consume", "orders", "--group", "fresh", "-c", "100"]
        ) { store throws in
            #expect(try store.committed("fresh").values.reduce(0, +) == 100)
        },
        DiskFullCase(
            description: "group seek --execute (a commit)",
            arguments: ["group", "seek", "prep", "--topic", "orders", "--to-latest", "--execute"]
        ) { store throws in
            #expect(try store.committed("prep") == store.ends("orders"))
        },
        DiskFullCase(description: "topic create", arguments: ["topic", "create", "fresh", "-p", "8"]) { store throws in
            #expect(try JSONValue.parse(try store.ok(["topic", "describe", "fresh", "--json"]).out)["partitions"]?.arrayValue?.count == 8)
        },
        DiskFullCase(description: "import into a new topic", arguments: ["import", "ARCHIVE", "--topic", "copy"]) { store throws in
            #expect(
                try store.ok(["consume", "copy", "--format", "%p %o %k %v\\n"]).out
                    == (try store.ok(["consume", "orders", "--format", "%p %o %k %v\\n"]).out))
        },
        DiskFullCase(
            description: "import --append",
            prepare: { store in try store.ok(["topic", "create", "dest", "-p", "2"]) },
            arguments: ["import", "ARCHIVE", "--topic", "dest", "--append"]
        ) { store throws in
            #expect(try store.ok(["consume", "dest", "--format", "%v\\n"]).out.split(separator: "\n").count == 20_000)
        },
        DiskFullCase(
            description: "redistribute start --execute",
            arguments: ["redistribute", "start", "orders", "--group", "prep", "--into", "spread", "--execute"],
            succeeded: expectBacklogCopiedOnce),
        DiskFullCase(
            description: "topic migrate --execute",
            arguments: ["topic", "migrate", "orders", "--to", "wider", "--partitions", "6", "--group", "prep", "--execute"]
        ) { store throws in
            let values = { (topic: String) throws -> [Substring] in
                try store.ok(["consume", topic, "--format", "%k %v\\n"]).out.split(separator: "\n").sorted()
            }
            #expect(try values("wider") == values("orders"))
            #expect(try store.committed("prep").keys.filter { $0.hasPrefix("wider-") }.count == 6)
        },
    ]
}

@Suite(.serialized, .enabled(if: SmallFileSystem.mountable, SmallFileSystem.skipReason))
struct FullDiskTests {
    /// Each write, on a truly full file system: one clear error naming the
    /// data directory and the space needed, the store exactly as before
    /// (verify clean: no torn batch, no half-visible topic), and the same
    /// command succeeding once space is freed.
    @Test(arguments: DiskFullCase.all)
    func aFullDiskStopsTheWriteCleanlyAndTheRerunSucceeds(_ write: DiskFullCase) throws {
        let store = try DiskFullStore()
        try write.prepare(store)
        let arguments = write.arguments.map { $0 == "ARCHIVE" ? store.archive : $0 }
        let before = try store.visibleState()
        let records = try store.records()
        try store.fs.fill()

        let failed = try store.sluice(arguments, stdin: write.stdin)
        #expect(failed.status == 1, "\(failed.err)")
        let line = failed.errorLines.last ?? ""
        #expect(line.hasPrefix("error: data directory \(store.path) is full: "), "\(line)")
        #expect(line.contains("needed") || line.contains("needs about"), "\(line)")
        #expect(line.contains("free space on the file system holding \(store.path)"), "\(line)")
        if write.streams {
            // A roll may have started an empty segment; the records are what count.
            if try store.records() != records {
                #expect(line.contains("were appended and are durable"), "a failed \(write) changed the records silently: \(line)")
            }
        } else {
            #expect(try store.visibleState() == before, "a failed \(write) changed what readers see")
        }
        #expect(try store.sluice(["verify"]).status == 0)
        #expect(try store.sluice(["topic", "list"]).status == 0)

        try store.fs.free()
        let rerun = try store.sluice(arguments, stdin: write.stdin)
        #expect(rerun.status == 0, "re-run of \(write): \(rerun.err)")
        try write.succeeded(store)
        #expect(try store.sluice(["verify"]).status == 0)
    }

    /// The commit itself failing (injected ENOSPC on the offsets log only):
    /// nothing committed, the consumer's output is re-read on the re-run.
    @Test(arguments: [
        ["consume", "orders", "--group", "prep", "-c", "5"], ["group", "seek", "prep", "--topic", "orders", "--to-earliest", "--execute"],
    ])
    func aCommitThatMeetsAFullDiskCommitsNothing(arguments: [String]) throws {
        let store = try DiskFullStore()
        let committed = try store.committed("prep")
        let before = try store.visibleState()
        let failed = try store.sluice(arguments, environment: ["SLUICE_FAULTS": "write:ENOSPC:path=__consumer_offsets"])
        #expect(failed.status == 1)
        #expect(
            failed.errorLines.last?.contains("cannot commit the offsets of group 'prep' (nothing was committed)") == true, "\(failed.err)")
        #expect(failed.errorLines.last?.contains("appending to partition __consumer_offsets-") == true, "\(failed.err)")
        #expect(try store.visibleState() == before)
        #expect(try store.committed("prep") == committed)
        try store.ok(arguments)
        #expect(try store.committed("prep") != committed)
    }

    /// A redistribution whose disk fills mid-copy (ENOSPC injected on the
    /// temporary topic's writes once some chunks are checkpointed): one clear
    /// error, G not moved, verify clean, and the same command resumes and
    /// copies every backlog record exactly once.
    @Test func aRedistributionThatMeetsAFullDiskMidCopyResumes() throws {
        let store = try DiskFullStore()
        let committed = try store.committed("prep")
        let arguments = [
            "redistribute", "start", "orders", "--group", "prep", "--into", "spread", "--checkpoint-every", "16K", "--execute",
        ]
        let failed = try store.sluice(arguments, environment: ["SLUICE_FAULTS": "write:ENOSPC:after=40:path=/spread-"])
        #expect(failed.status == 1, "\(failed.err)")
        #expect(failed.errorLines.last?.hasPrefix("error: data directory \(store.path) is full: ") == true, "\(failed.err)")
        let status = try JSONValue.parse(try store.ok(["redistribute", "status", "spread", "--json"]).out)["redistributions"]!.arrayValue![
            0]
        #expect(status["state"]?.stringValue == "copying")
        #expect((1..<19_990).contains(status["copied_records"]!.int64Value!), "the fault did not come mid-copy")
        #expect(try store.committed("prep") == committed)
        #expect(try store.sluice(["verify"]).status == 0)

        try store.ok(arguments)
        try DiskFullCase.expectBacklogCopiedOnce(store)
        #expect(try store.sluice(["verify"]).status == 0)
    }

    /// An import whose disk fills while it is being built: the pre-check
    /// passed, the staging area did not fit; nothing becomes visible.
    @Test func anImportThatFillsTheDiskMidwayLeavesNothing() throws {
        let store = try DiskFullStore()
        let before = try store.visibleState()
        let archive = try Data(contentsOf: URL(fileURLWithPath: store.archive))
        let input = store.outside.file("pipe")
        #expect(mkfifo(input, 0o600) == 0)
        // Feed the archive through a FIFO: the first half, then fill the disk, then the rest.
        let importer = try SluiceProcess.start(["import", input, "--topic", "copy2"], dataDir: store.path)
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        try writer.write(contentsOf: archive.prefix(archive.count / 2))
        try waitUntil(10, "the import's staging area", every: 0.02) {
            ((try? FileManager.default.contentsOfDirectory(atPath: store.path + "/.sluice/staging")) ?? []).contains(where: {
                !$0.hasSuffix(".lock")
            })
        }
        try store.fs.fill()
        // The importer may stop at the full disk before reading the rest: a
        // write to a FIFO nobody reads then fails (EPIPE), never kills the runner.
        signal(SIGPIPE, SIG_IGN)
        try? writer.write(contentsOf: archive.dropFirst(archive.count / 2))
        try? writer.close()
        let failed = try importer.finish()
        #expect(failed.status == 1, "\(failed.err)")
        #expect(failed.errorLines.last?.contains("data directory \(store.path) is full") == true, "\(failed.err)")
        #expect(failed.errorLines.last?.contains("nothing was imported") == true, "\(failed.err)")
        #expect(try store.visibleState() == before)
        try store.fs.free()
        try store.ok(["import", store.archive, "--topic", "copy2"])
        #expect(try store.ok(["verify"]).status == 0)
    }

    /// Freeing space works on a full disk: delete-records and retention
    /// unlink first when the checkpoint cannot be written.
    @Test func deletingRecordsFreesSpaceOnAFullDisk() throws {
        let store = try DiskFullStore()
        try store.fs.fill()
        let freed = try store.sluice(["delete-records", "orders", "--before", "8000", "--yes", "--json"])
        #expect(freed.status == 0, "\(freed.err)")
        #expect(try JSONValue.parse(freed.out)["bytes_freed"]!.int64Value! > 0)
        #expect(
            try String(contentsOfFile: store.path + "/log-start-offset-checkpoint", encoding: .utf8)
                == "0\n2\norders 0 8000\norders 1 8000\n")
        #expect(try store.sluice(["verify"]).status == 0)
        #expect(try store.sluice(["produce", "orders"], stdin: "after\n").status == 0)
    }
}
