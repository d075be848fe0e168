import Foundation

/// Runs the built `sluice` binary, for end-to-end tests.
///
/// The binary is `$SLUICE_BIN` (the Makefile points it at the release build),
/// else the `sluice` next to the running test bundle.
public enum SluiceProcess {
    public static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"], !path.isEmpty { return path }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("sluice").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return Fixtures.packageRoot + "/.build/debug/sluice"
    }()

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: Data
        public var out: String { String(decoding: stdout, as: UTF8.self) }
        public var err: String { String(decoding: stderr, as: UTF8.self) }
        /// stderr lines with any leading ISO-8601 timestamp removed.
        public var errorLines: [String] { SluiceProcess.errorLines(err) }
    }

    /// `line` without the ISO-8601 timestamp sluice puts before its stderr
    /// lines when stderr is not a terminal (one space follows it, where table
    /// columns are two apart, so a table's time column is left alone).
    public static func withoutTimestamp(_ line: some StringProtocol) -> String {
        String(line).replacing(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?=\S)/, with: "", maxReplacements: 1)
    }

    /// stderr's lines without their timestamps.
    public static func errorLines(_ err: String) -> [String] {
        err.split(separator: "\n").map { withoutTimestamp($0) }
    }

    /// Runs `sluice` with `arguments`, feeding `stdin`, and waits for it.
    @discardableResult
    public static func run(
        _ arguments: [String], dataDir: String? = nil, stdin: Data? = nil,
        environment: [String: String] = [:]
    ) throws -> Result {
        let process = try start(arguments, dataDir: dataDir, environment: environment, stdinData: stdin)
        return try process.finish()
    }

    /// Starts `sluice` without waiting; `finish` collects the result.
    /// Whether the process is stopped (SIGSTOP), from /proc/PID/stat.
    public static func isStopped(_ pid: Int32) throws -> Bool {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[close...].dropFirst(2).first == "T"
    }

    public static func start(
        _ arguments: [String], dataDir: String? = nil, environment: [String: String] = [:],
        stdinData: Data? = nil, stdinFile: String? = nil
    ) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SLUICE_DATA_DIR"] = nil
        if let dataDir { env["SLUICE_DATA_DIR"] = dataDir }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-out-\(UUID().uuidString)")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        var inputFile: URL?
        if let stdinFile {
            process.standardInput = FileHandle(forReadingAtPath: stdinFile)
        } else {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-in-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: url.path, contents: stdinData ?? Data())
            process.standardInput = FileHandle(forReadingAtPath: url.path)
            inputFile = url
        }
        try process.run()
        return Running(process: process, outFile: outFile, errFile: errFile, inFile: inputFile)
    }

    public final class Running: @unchecked Sendable {
        public let process: Process
        let outFile: URL, errFile: URL, inFile: URL?

        init(process: Process, outFile: URL, errFile: URL, inFile: URL?) {
            self.process = process
            self.outFile = outFile
            self.errFile = errFile
            self.inFile = inFile
        }

        public var pid: Int32 { process.processIdentifier }

        public func kill(_ signal: Int32 = SIGKILL) { Foundation.kill(process.processIdentifier, signal) }

        public func finish() throws -> Result {
            process.waitUntilExit()
            defer {
                try? FileManager.default.removeItem(at: outFile)
                try? FileManager.default.removeItem(at: errFile)
                if let inFile { try? FileManager.default.removeItem(at: inFile) }
            }
            let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
            return Result(status: status, stdout: try Data(contentsOf: outFile), stderr: try Data(contentsOf: errFile))
        }
    }
}
