// swift-tools-version:6.0
import PackageDescription

// Layering, lowest first (each target depends only on those above it):
//   CISAL, CZstd,         system C libraries (CRC-32C and gzip inflate, zstd, lz4 frames,
//   CLZ4, CSnappy         snappy)
//   SluiceCore            errors, byte order, time/duration parsing, JSON
//   SluiceSystem          one wrapper per syscall, with fault injection for tests
//   SluiceCompression     zstd one-shot and streaming (multi-threaded) codecs; gzip, snappy, lz4 decoders
//   KafkaFormat           Kafka's byte layouts: RecordBatch v2, varints, CRC-32C, murmur2, indexes
//   SluiceStorage         the data directory, topics, partitions, segments, recovery
//   SluiceGroups          committed offsets (an internal Kafka-format log), leases, membership
//   SluiceOperations      produce/consume pipelines, lag, seek, export/import, redistribute, ...
//   sluice                the command line: one file per subcommand, no logic of its own
/// Release builds skip the runtime exclusivity checks on class properties: the byte
/// buffers on every hot path are classes, and the checks cost ~25% of
/// `consume --json` (measured with perf). Debug builds, which the unit tests use,
/// keep them, so a violation still fails a test.
let releaseSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .target(name: "SluiceCore", swiftSettings: releaseSettings),
        .target(name: "SluiceSystem", dependencies: [
            "SluiceCore",
            .product(name: "SystemPackage", package: "swift-system"),
        ], swiftSettings: releaseSettings),
        .target(name: "SluiceCompression", dependencies: ["SluiceCore", "CZstd", "CISAL", "CLZ4", "CSnappy"], swiftSettings: releaseSettings),
        .target(name: "KafkaFormat", dependencies: ["SluiceCore", "SluiceCompression", "CISAL"], swiftSettings: releaseSettings),
        .target(name: "SluiceStorage", dependencies: ["SluiceCore", "SluiceSystem", "SluiceCompression", "KafkaFormat"],
                swiftSettings: releaseSettings),
        .target(name: "SluiceGroups", dependencies: ["SluiceCore", "SluiceSystem", "KafkaFormat", "SluiceStorage"],
                swiftSettings: releaseSettings),
        .target(name: "SluiceOperations", dependencies: [
            "SluiceCore", "SluiceSystem", "KafkaFormat", "SluiceCompression", "SluiceStorage", "SluiceGroups",
        ], swiftSettings: releaseSettings),
        .executableTarget(name: "sluice", dependencies: [
            "SluiceCore", "SluiceStorage", "SluiceGroups", "SluiceOperations",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: releaseSettings),
        // The benchmark harness (`make bench`): not a product, never installed.
        .executableTarget(name: "sluice-bench", dependencies: ["SluiceCore", "SluiceSystem"]),
        // Fuzzing (`make fuzz`, FUZZING in RELIABILITY.md): the entry points over every decoder of
        // hostile input, and the libFuzzer driver / replayer. Not products, never installed.
        .target(name: "SluiceFuzzTargets", dependencies: [
            "SluiceCore", "SluiceSystem", "SluiceCompression", "KafkaFormat", "SluiceStorage", "SluiceGroups", "SluiceOperations",
        ]),
        .executableTarget(name: "sluice-fuzz", dependencies: ["SluiceCore", "SluiceSystem", "SluiceFuzzTargets"]),

        // TestSupport makes compressed test inputs; gzip, lz4 and snappy with the C libraries' compressors.
        .target(name: "TestSupport", dependencies: ["SluiceCore", "SluiceSystem", "SluiceCompression", "CISAL", "CLZ4", "CSnappy"],
                path: "Tests/TestSupport"),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "TestSupport"]),
        .testTarget(name: "SluiceSystemTests", dependencies: ["SluiceSystem", "TestSupport"]),
        .testTarget(name: "KafkaFormatTests", dependencies: ["KafkaFormat", "TestSupport"]),
        .testTarget(name: "SluiceCompressionTests", dependencies: ["SluiceCompression", "TestSupport"]),
        .testTarget(name: "SluiceStorageTests", dependencies: ["SluiceStorage", "TestSupport"]),
        .testTarget(name: "SluiceGroupsTests", dependencies: ["SluiceGroups", "TestSupport"]),
        .testTarget(name: "SluiceOperationsTests", dependencies: ["SluiceOperations", "TestSupport"]),
        .testTarget(name: "SluiceBenchTests", dependencies: ["sluice-bench"]),
        .testTarget(name: "SluiceFuzzTests", dependencies: ["SluiceFuzzTargets", "TestSupport"], exclude: ["Regressions"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SluiceCore", "KafkaFormat", "SluiceStorage", "TestSupport"]),
    ]
)
