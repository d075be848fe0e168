import Foundation
import TestSupport
import Testing

/// `sluice PATH --help` of every command and leaf, compared with the snapshots
/// in Tests/HelpSnapshots (wrapped at COLUMNS=80). The commands come from the
/// binary itself, so a new command without a snapshot fails. After changing a
/// help text, rewrite them with
///     SLUICE_UPDATE_SNAPSHOTS=1 SLUICE_BIN=$PWD/.build/release/sluice swift test --filter HelpSnapshotTests
@Suite struct HelpSnapshotTests {
    static let directory = Fixtures.packageRoot + "/Tests/HelpSnapshots"
    static let updating = ProcessInfo.processInfo.environment["SLUICE_UPDATE_SNAPSHOTS"] == "1"

    /// Every command path, from `sluice --experimental-dump-help` (argument-parser's `help` left out).
    static func commands() throws -> [[String]] {
        let dump = try SluiceProcess.run(["--experimental-dump-help"])
        guard dump.status == 0,
            let root = (try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])?["command"] as? [String: Any]
        else {
            throw Failure("sluice --experimental-dump-help: \(dump.err)")
        }
        func walk(_ command: [String: Any], _ path: [String]) -> [[String]] {
            let subcommands = (command["subcommands"] as? [[String: Any]] ?? []).filter { $0["commandName"] as? String != "help" }
            return [path] + subcommands.flatMap { walk($0, path + [$0["commandName"] as? String ?? "?"]) }
        }
        return walk(root, [])
    }

    static func snapshotName(_ path: [String]) -> String { (["sluice"] + path).joined(separator: "-") + ".txt" }

    @Test func everyCommandsHelpMatchesItsSnapshot() throws {
        let commands = try Self.commands()
        #expect(commands.contains(["group", "seek"]))
        for path in commands {
            let result = try SluiceProcess.run(path + ["--help"], environment: ["COLUMNS": "80"])
            #expect(result.status == 0 && result.err.isEmpty, "\(path): \(result.err)")
            let file = Self.directory + "/" + Self.snapshotName(path)
            if Self.updating {
                try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
                try result.stdout.write(to: URL(fileURLWithPath: file))
                continue
            }
            let snapshot = FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
            #expect(
                snapshot == result.out,
                """
                sluice \(path.joined(separator: " ")) --help differs from \(file) (or it is \
                missing); if the change is meant, run the tests with SLUICE_UPDATE_SNAPSHOTS=1
                """
            )
        }
        let stale = Set((try? FileManager.default.contentsOfDirectory(atPath: Self.directory)) ?? []).subtracting(
            commands.map(Self.snapshotName))
        #expect(stale.isEmpty, "snapshots of commands that no longer exist: \(stale.sorted())")
    }
}
