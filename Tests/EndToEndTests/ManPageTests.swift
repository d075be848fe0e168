import Foundation
import TestSupport
import Testing

/// man/*.1: every command line of every page's EXAMPLES runs and exits 0, so
/// the examples cannot rot, and every page formats without a groff warning.
@Suite struct ManPageTests {
    static let directory = Fixtures.packageRoot + "/man"
    static let pages: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".1") }
        .sorted()

    /// The `$ ` lines of a page's EXAMPLES, unescaped (`\e` is mdoc's backslash).
    static func examples(_ page: String) throws -> [String] {
        let text = try String(contentsOfFile: directory + "/" + page, encoding: .utf8)
        var inExamples = false
        var commands: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(".Sh ") { inExamples = line == ".Sh EXAMPLES" }
            if inExamples && line.hasPrefix("$ ") { commands.append(line.dropFirst(2).replacingOccurrences(of: "\\e", with: "\\")) }
        }
        return commands
    }

    @Test func everyCommandHasAPage() {
        #expect(Self.pages.contains("sluice.1"))
        #expect(Self.pages.contains("sluice-group-seek.1"))
        #expect(Self.pages.count >= 30, "\(Self.pages)")
    }

    @Test(arguments: pages)
    func examplesRunAndExitZero(page: String) throws {
        let commands = try Self.examples(page)
        #expect(!commands.isEmpty, "\(page) has no example command lines")
        let dir = TemporaryDirectory()
        let work = dir.file("work"), data = dir.file("data")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try DocsSupport.makeExampleData(data)
        var environment = DocsSupport.environment(bin: try DocsSupport.binDirectory(in: dir), dataDir: data)
        // The cluster examples name the cluster $KAFKA: here, the test broker.
        if commands.contains(where: { $0.contains("$KAFKA") }) { environment["KAFKA"] = try TestBroker.shared.bootstrap }
        for command in commands {
            let result = try ArchiveStore.shell("cd '\(work)' && { \(command)\n} < /dev/null", environment: environment)
            #expect(result.status == 0, "\(page): \(command) exited \(result.status): \(result.err)")
        }
    }

    @Test(.enabled(if: DocsSupport.program("groff") != nil, "groff is not installed (apt-get install groff-base)"), arguments: pages)
    func formatsWithoutWarnings(page: String) throws {
        let result = try ArchiveStore.shell("groff -mandoc -ww -z '\(Self.directory)/\(page)'")
        #expect(result.status == 0 && result.err.isEmpty, "\(page): \(result.err)")
    }
}
