import Foundation
import TestSupport
import Testing

/// Runs every command README.md shows, in order, in one empty data
/// directory, so the README cannot rot: a `console` block's `$ ` lines are
/// commands and the lines after each its output, compared (both streams, as
/// a terminal shows them) unless the block follows `<!-- output varies -->`;
/// a `crontab` block's lines are run without their five time fields and may
/// exit 0 or 2 (a check that failed). Only `make` lines are left unrun. A
/// command naming `$KAFKA` runs against the test broker (Tansu).
/// `SLUICE_UPDATE_README=1` writes the outputs of this run into README.md.
@Suite(.serialized) struct ReadmeTests {
    static let readmePath = Fixtures.packageRoot + "/README.md"

    @Test func everyCommandInTheReadmeRunsAndPrintsWhatItShows() throws {
        var lines = try String(contentsOfFile: Self.readmePath, encoding: .utf8).components(separatedBy: "\n")
        let document = ReadmeDocument(lines)
        #expect(document.commands.filter { $0.kind == .console }.count >= 15, "the tour lost its commands")
        #expect(document.commands.contains { $0.kind == .crontab }, "the cron recipes lost their commands")
        for line in document.unrunCommandLines {
            #expect(line.hasPrefix("make "), "README line '\(line)' is in a block no test runs: make it a console or crontab block")
        }

        let dir = TemporaryDirectory("sluice-readme")
        let shell = ReadmeShell(workingDirectory: dir.path)
        var updates: [(ReadmeCommand, [String])] = []
        for command in document.commands {
            let result = try shell.run(command.text)
            let allowed: Set<Int32> = command.kind == .crontab ? [0, 2] : [0]
            #expect(
                allowed.contains(result.status),
                "README line \(command.line + 1): '\(command.text)' exited \(result.status): \(result.output.joined(separator: "\n"))")
            if command.kind == .console && !command.outputVaries {
                #expect(
                    result.output == command.expected,
                    "README line \(command.line + 1): '\(command.text)' printed:\n\(result.output.joined(separator: "\n"))")
            }
            if command.kind == .console { updates.append((command, result.output)) }
        }
        if ProcessInfo.processInfo.environment["SLUICE_UPDATE_README"] == "1" {
            for (command, output) in updates.reversed() { lines.replaceSubrange(command.outputLines, with: output) }
            try lines.joined(separator: "\n").write(toFile: Self.readmePath, atomically: true, encoding: .utf8)
        }
    }

    @Test func theReadmeParserFindsCommandsOutputsAndMarkers() {
        let document = ReadmeDocument([
            "<!-- output varies -->", "```console", "$ a \\", "  b", "one", "$ c", "```", "```crontab",
            "# comment", "*/5 * * * * d --x", "```", "```sh", "make demo", "rm -rf /", "```",
        ])
        #expect(document.commands.map(\.text) == ["a \\\n  b", "c", "d --x"])
        #expect(document.commands[0].expected == ["one"] && document.commands[0].outputVaries)
        #expect(document.commands[1].expected.isEmpty && document.commands[1].outputLines == 6..<6)
        #expect(document.commands[2].kind == .crontab)
        #expect(document.unrunCommandLines == ["make demo", "rm -rf /"])
    }
}

struct ReadmeCommand {
    enum Kind { case console, crontab }
    let kind: Kind
    let text: String
    /// Where the command starts in the file (0-based).
    let line: Int
    let outputVaries: Bool
    var expected: [String] = []
    var outputLines: Range<Int>
}

/// The commands of README.md's `console` and `crontab` blocks, and the lines
/// of its other code blocks.
struct ReadmeDocument {
    private(set) var commands: [ReadmeCommand] = []
    private(set) var unrunCommandLines: [String] = []

    init(_ lines: [String]) {
        var i = 0
        while i < lines.count {
            guard lines[i].hasPrefix("```") else {
                i += 1
                continue
            }
            let info = lines[i].dropFirst(3).trimmingCharacters(in: .whitespaces)
            let varies = i > 0 && lines[i - 1].trimmingCharacters(in: .whitespaces) == "<!-- output varies -->"
            var end = i + 1
            while end < lines.count && !lines[end].hasPrefix("```") { end += 1 }
            let body = i + 1..<end
            switch info {
            case "console": readConsole(lines, body, varies: varies)
            case "crontab": readCrontab(lines, body)
            case "text": break
            default: unrunCommandLines += body.map { lines[$0] }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            i = end + 1
        }
    }

    private mutating func readConsole(_ lines: [String], _ body: Range<Int>, varies: Bool) {
        var i = body.lowerBound
        while i < body.upperBound {
            guard lines[i].hasPrefix("$ ") else {
                commands[commands.count - 1].expected.append(lines[i])
                commands[commands.count - 1].outputLines = commands[commands.count - 1].outputLines.lowerBound..<(i + 1)
                i += 1
                continue
            }
            let start = i
            var text = String(lines[i].dropFirst(2))
            while text.hasSuffix("\\") && i + 1 < body.upperBound {
                i += 1
                text += "\n" + lines[i]
            }
            commands.append(ReadmeCommand(kind: .console, text: text, line: start, outputVaries: varies, outputLines: (i + 1)..<(i + 1)))
            i += 1
        }
    }

    private mutating func readCrontab(_ lines: [String], _ body: Range<Int>) {
        for i in body where !lines[i].hasPrefix("#") && !lines[i].trimmingCharacters(in: .whitespaces).isEmpty {
            let fields = lines[i].split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            commands.append(
                ReadmeCommand(
                    kind: .crontab, text: fields.count == 6 ? String(fields[5]) : lines[i], line: i,
                    outputVaries: true, outputLines: i..<i))
        }
    }
}

/// Runs README command lines with bash, `sluice` on the PATH and the data
/// directory in `SLUICE_DATA_DIR`, as a reader following along would.
struct ReadmeShell {
    let workingDirectory: String
    /// Where a command's stdout and stderr go, outside the reader's directory.
    private let captures = TemporaryDirectory("sluice-readme-output")

    init(workingDirectory: String) { self.workingDirectory = workingDirectory }

    struct Result {
        let status: Int32
        /// What it printed on stdout and stderr, as a terminal shows it.
        let output: [String]
    }

    func run(_ command: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        var environment = ProcessInfo.processInfo.environment
        let bin = URL(fileURLWithPath: SluiceProcess.binary).deletingLastPathComponent().path
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SLUICE_DATA_DIR"] = workingDirectory + "/data"
        environment["HOME"] = workingDirectory
        environment["TZ"] = "UTC"
        // The cluster section's commands name the cluster $KAFKA: here, the test broker.
        if command.contains("$KAFKA") { environment["KAFKA"] = try TestBroker.shared.bootstrap }
        process.environment = environment
        // One file for both streams, in the order a terminal shows them.
        let outputPath = captures.file("output")
        guard FileManager.default.createFile(atPath: outputPath, contents: nil), let output = FileHandle(forWritingAtPath: outputPath)
        else {
            throw ReadmeFailure("cannot create \(outputPath)")
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try output.close()
        let printed = Self.lines(try Data(contentsOf: URL(fileURLWithPath: outputPath)))
        return Result(status: process.terminationStatus, output: printed)
    }

    /// The lines printed, without timestamps and trailing spaces.
    private static func lines(_ data: Data) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        guard !text.isEmpty else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).map { line in
            var s = SluiceProcess.withoutTimestamp(line)
            while s.last == " " { s.removeLast() }
            return s
        }
    }
}

struct ReadmeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
