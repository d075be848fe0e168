// swift-tools-version:6.0
import PackageDescription

// Layering, lowest first (each target depends only on those above it):
//   CISAL, CZstd          system C libraries (CRC-32C, zstd)
//   SluiceCore            errors, byte order, time/duration parsing, JSON
//   SluiceSystem          one wrapper per syscall, with fault injection for tests
//   SluiceCompression     zstd one-shot and streaming (multi-threaded) codecs
//   KafkaFormat           Kafka's byte layouts: RecordBatch v2, varints, CRC-32C, murmur2, indexes
//   SluiceStorage         the data directory, topics, partitions, segments, recovery
//   SluiceGroups          committed offsets (an internal Kafka-format log), leases, membership
//   SluiceOperations      produce/consume pipelines, lag, seek, export/import, redistribute, ...
//   sluice                the command line: one file per subcommand, no logic of its own
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
        .target(name: "SluiceCore"),
        .target(name: "SluiceSystem", dependencies: [
            "SluiceCore",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "SluiceCompression", dependencies: ["SluiceCore", "CZstd"]),
        .target(name: "KafkaFormat", dependencies: ["SluiceCore", "SluiceCompression", "CISAL"]),
        .target(name: "SluiceStorage", dependencies: ["SluiceCore", "SluiceSystem", "SluiceCompression", "KafkaFormat"]),
        .target(name: "SluiceGroups", dependencies: ["SluiceCore", "SluiceSystem", "KafkaFormat", "SluiceStorage"]),
        .target(name: "SluiceOperations", dependencies: [
            "SluiceCore", "SluiceSystem", "KafkaFormat", "SluiceCompression", "SluiceStorage", "SluiceGroups",
        ]),
        .executableTarget(name: "sluice", dependencies: [
            "SluiceCore", "SluiceStorage", "SluiceGroups", "SluiceOperations",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmark harness (`make bench`): not a product, never installed.
        .executableTarget(name: "sluice-bench", dependencies: ["SluiceCore", "SluiceSystem"]),

        .target(name: "TestSupport", dependencies: ["SluiceCore", "SluiceSystem"], path: "Tests/TestSupport"),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "TestSupport"]),
        .testTarget(name: "SluiceSystemTests", dependencies: ["SluiceSystem", "TestSupport"]),
        .testTarget(name: "KafkaFormatTests", dependencies: ["KafkaFormat", "TestSupport"]),
        .testTarget(name: "SluiceCompressionTests", dependencies: ["SluiceCompression", "TestSupport"]),
        .testTarget(name: "SluiceStorageTests", dependencies: ["SluiceStorage", "TestSupport"]),
        .testTarget(name: "SluiceGroupsTests", dependencies: ["SluiceGroups", "TestSupport"]),
        .testTarget(name: "SluiceOperationsTests", dependencies: ["SluiceOperations", "TestSupport"]),
        .testTarget(name: "SluiceBenchTests", dependencies: ["sluice-bench"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SluiceCore", "KafkaFormat", "SluiceStorage", "TestSupport"]),
    ]
)
