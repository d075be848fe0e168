import Foundation
import TestSupport
import Testing

/// `make install` puts exactly the binary, the man pages and the completion
/// scripts where each belongs; `make uninstall` removes exactly those.
@Suite struct InstallTests {
    /// Regular files under `root`, relative to it.
    static func files(under root: String) -> Set<String> {
        var found: Set<String> = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                found.insert(path)
            }
        }
        return found
    }

    /// `make -o release TARGET ...` with the binary under test: the build is the test run's own.
    static func make(_ target: String, _ variables: String) throws {
        let result = try ArchiveStore.shell(
            "make -C '\(Fixtures.packageRoot)' -o release \(target) \(variables) RELEASE_BIN='\(SluiceProcess.binary)'")
        guard result.status == 0 else { throw Failure("make \(target): \(result.err)") }
    }

    @Test(.enabled(if: DocsSupport.program("make") != nil, "make is not installed"), arguments: [false, true])
    func installThenUninstall(withDestDir: Bool) throws {
        let dir = TemporaryDirectory()
        let variables = withDestDir ? "PREFIX=/opt/sluice DESTDIR='\(dir.path)'" : "PREFIX='\(dir.path)/opt/sluice'"
        let pages = ManPageTests.pages.map { "share/man/man1/" + $0 }
        let expected = Set(
            [
                "bin/sluice", "share/bash-completion/completions/sluice", "share/zsh/site-functions/_sluice",
                "share/fish/vendor_completions.d/sluice.fish",
            ] + pages
        ).map { "opt/sluice/" + $0 }
        try Self.make("install", variables)
        #expect(Self.files(under: dir.path) == Set(expected))
        #expect(FileManager.default.contentsEqual(atPath: dir.file("opt/sluice/bin/sluice"), andPath: SluiceProcess.binary))
        #expect(FileManager.default.isExecutableFile(atPath: dir.file("opt/sluice/bin/sluice")))
        try Self.make("uninstall", variables)
        #expect(Self.files(under: dir.path).isEmpty)
    }
}
