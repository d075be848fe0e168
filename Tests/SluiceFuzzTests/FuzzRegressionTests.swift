import Foundation
import SluiceFuzzTargets
import TestSupport
import Testing

/// Every fuzz target over its seed corpus (the real Kafka fixtures and files
/// sluice writes) and over every input a fuzzing run found a crash with
/// (`Tests/SluiceFuzzTests/Regressions/<target>/`, kept once fixed), in the normal suite.
@Suite struct FuzzRegressionTests {
    static let seeds = Result { try FuzzTargets.seeds(fixtures: Fixtures.kafka) }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func seedsAndFoundCrashesRunClean(target name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let seeds = try Self.seeds.get()[name] ?? []
        #expect(!seeds.isEmpty, "\(name) has no seeds")
        for seed in seeds { seed.withUnsafeBytes { target.run($0) } }
        let regressions = Fixtures.packageRoot + "/Tests/SluiceFuzzTests/Regressions/" + name
        for file in (try? FileManager.default.contentsOfDirectory(atPath: regressions)) ?? [] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: regressions + "/" + file))
            bytes.withUnsafeBytes { target.run($0) }
        }
    }
}
