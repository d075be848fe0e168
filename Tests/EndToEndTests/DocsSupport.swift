import Foundation
import TestSupport

/// What the tests of the man pages, completion scripts and installation share.
enum DocsSupport {
    /// A directory holding `sluice` (a link to the binary under test), to put first on PATH.
    static func binDirectory(in dir: TemporaryDirectory) throws -> String {
        let bin = dir.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/sluice", withDestinationPath: SluiceProcess.binary)
        return bin
    }

    /// The environment of a shell that runs `sluice` from `bin` on `dataDir`.
    static func environment(bin: String, dataDir: String) -> [String: String] {
        ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "SLUICE_DATA_DIR": dataDir]
    }

    /// The data the man pages' examples and the completion tests work on: topics
    /// orders (3 partitions, 1,000 keyed records) and payments (20 records), and
    /// group billing, which consumed 100 records of orders.
    static func makeExampleData(_ dataDir: String) throws {
        let orders = (1...1000).map { "customer-\($0 % 97)|{\"order\":\($0)}" }.joined(separator: "\n")
        let steps: [([String], String?)] = [
            (["topic", "create", "orders", "--partitions", "3"], nil),
            (["produce", "orders", "--key-separator", "|"], orders),
            (["topic", "create", "payments"], nil),
            (["produce", "payments"], (1...20).map(String.init).joined(separator: "\n")),
            (["consume", "orders", "--group", "billing", "--max-messages", "100"], nil),
        ]
        for (arguments, input) in steps {
            let result = try SluiceProcess.run(arguments, dataDir: dataDir, stdin: input.map { Data($0.utf8) })
            guard result.status == 0 else { throw Failure("sluice \(arguments.joined(separator: " ")): \(result.err)") }
        }
    }

    /// The path of a program on PATH, nil when it is not installed.
    static func program(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
