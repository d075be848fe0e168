import Foundation
import TestSupport
import Testing

@Suite struct HelpTests {
    static let commands: [[String]] = [[], ["topic"], ["topic", "create"], ["produce"], ["consume"], ["dump"], ["verify"]]

    @Test(arguments: commands)
    func helpPrintsUsageAndExitsZero(command: [String]) throws {
        for form in [command + ["--help"], ["help"] + command] {
            let result = try SluiceProcess.run(form)
            #expect(result.status == 0, "\(form): \(result.err)")
            #expect(result.out.contains("USAGE: sluice"), "\(form)")
            #expect(result.err.isEmpty, "\(form): \(result.err)")
        }
    }

    @Test func rootHelpListsTheExitCodes() throws {
        let out = try SluiceProcess.run(["--help"]).out
        for line in ["0   success", "1   failure", "2   a check failed", "64  usage error"] {
            #expect(out.contains(line))
        }
    }
}
