import Foundation
import TestSupport
import Testing

/// completions/sluice.bash in a real bash: topic and group names complete from
/// the data directory in effect, by running the `sluice` on PATH.
@Suite struct CompletionTests {
    /// What bash offers for `line` (which ends where <TAB> is pressed).
    static func complete(_ line: String, environment: [String: String]) throws -> [String] {
        var words = line.split(separator: " ").map(String.init)
        if line.hasSuffix(" ") { words.append("") }
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let script = """
            source '\(Fixtures.packageRoot)/completions/sluice.bash'
            COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
            _sluice sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try ArchiveStore.shell("bash --norc --noprofile -s <<'SCRIPT'\n\(script)\nSCRIPT", environment: environment)
        guard result.status == 0 else { throw Failure("bash: \(result.err)") }
        return result.out.split(separator: "\n").map(String.init).sorted()
    }

    @Test func topicAndGroupNamesComplete() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try DocsSupport.makeExampleData(data)
        let environment = DocsSupport.environment(bin: try DocsSupport.binDirectory(in: dir), dataDir: data)
        #expect(try Self.complete("sluice consume ", environment: environment) == ["orders", "payments"])
        #expect(try Self.complete("sluice topic describe o", environment: environment) == ["orders"])
        #expect(try Self.complete("sluice lag ", environment: environment) == ["billing"])
        #expect(try Self.complete("sluice consume orders --group ", environment: environment) == ["billing"])
        #expect(try Self.complete("sluice group seek billing --topic p", environment: environment) == ["payments"])
    }

    /// Issue 16, item 8: a deleted group is not offered; redistribution names are.
    @Test func deletedGroupsAreNotOfferedAndRedistributionsAre() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try DocsSupport.makeExampleData(data)
        for arguments in [
            ["group", "seek", "gone", "--topic", "orders", "--to-earliest", "--execute"], ["group", "delete", "gone"],
            ["redistribute", "start", "orders", "--group", "billing", "--factor", "2", "--execute", "--quiet"],
        ] {
            let result = try SluiceProcess.run(arguments, dataDir: data)
            guard result.status == 0 else { throw Failure("\(arguments): \(result.err)") }
        }
        let environment = DocsSupport.environment(bin: try DocsSupport.binDirectory(in: dir), dataDir: data)
        #expect(try !Self.complete("sluice lag ", environment: environment).contains("gone"))
        #expect(try Self.complete("sluice redistribute finish ", environment: environment) == ["orders.billing.x2"])
        #expect(try Self.complete("sluice redistribute status o", environment: environment) == ["orders.billing.x2"])
    }

    @Test func dataDirOnTheLineWins() throws {
        let dir = TemporaryDirectory()
        let other = dir.file("other")
        try DocsSupport.makeExampleData(dir.file("data"))
        try SluiceProcess.run(["topic", "create", "audit"], dataDir: other)
        let environment = DocsSupport.environment(bin: try DocsSupport.binDirectory(in: dir), dataDir: dir.file("data"))
        #expect(try Self.complete("sluice consume --data-dir \(other) ", environment: environment) == ["audit"])
        #expect(try Self.complete("sluice lag --data-dir \(dir.file("missing")) ", environment: environment) == [])
    }
}
