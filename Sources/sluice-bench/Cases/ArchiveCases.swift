import SluiceSystem

/// Issue 4's speed cases: export against `tar | zstd -3 -T0` of the same
/// segment files, import (with full CRC verification and fsync) against
/// `zstd -d | tar -x` of the baseline's archive.
enum ArchiveCases {
    static let memoryTarget = Target.peakRSS(below: 200_000_000)

    static func table(_ sizes: BenchSizes) -> BenchTable {
        BenchTable(
            title: "Export and import (issue 4)",
            explanation: """
                A one-partition topic of \(Format.count(sizes.archiveRecords)) keyed JSON records (100–500-byte values, headers \
                on one in four). Export writes a zstd-compressed tar archive at level 3 on all cores; its baseline is \
                `tar -cf - <partition directory> | zstd -3 -T0` of the same files, and the archives' sizes are compared. \
                Import verifies every batch CRC and the archive's checksums, rebuilds the indexes and fsyncs before the topic \
                becomes visible; its baseline unpacks the baseline archive with `zstd -d | tar -x` (no fsync).
                """,
            cases: [export(sizes), importCase(sizes)])
    }

    static func export(_ sizes: BenchSizes) -> BenchCase {
        BenchCase(
            name: "export \(Format.count(sizes.archiveRecords)) keyed records",
            targets: [.ratio(atMost: 1.1), .outputSizeRatio(atMost: 1.05), memoryTarget]
        ) { bench in
            let topic = try bench.keyedTopic(records: sizes.archiveRecords)
            let archive = bench.path("export.tar.zst"), baselineArchive = bench.path("baseline.tar.zst")
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(
                    label: "sluice export", command: bench.sluiceCommand(["export", topic.name, "-o", archive, "-q"]),
                    beforeEach: { try FileSystem.removeFile(archive) }),
                baseline: Timed(label: "tar | zstd -3 -T0", command: tarZstd(bench, topic, to: baselineArchive)),
                outputs: (archive, baselineArchive))
        }
    }

    static func importCase(_ sizes: BenchSizes) -> BenchCase {
        BenchCase(
            name: "import \(Format.count(sizes.archiveRecords)) keyed records",
            targets: [.ratio(atMost: 1.5), memoryTarget]
        ) { bench in
            let topic = try bench.keyedTopic(records: sizes.archiveRecords)
            let archive = bench.path("import-source.tar.zst"), baselineArchive = bench.path("import-baseline.tar.zst")
            try bench.run(bench.sluiceCommand(["export", topic.name, "-o", archive, "-q"]))
            try bench.run(tarZstd(bench, topic, to: baselineArchive))
            let unpacked = bench.path("unpacked")
            return PreparedCase(
                workload: Workload(records: topic.records, bytes: topic.logBytes),
                timed: Timed(
                    label: "sluice import", command: bench.sluiceCommand(["import", archive, "--topic", "imported", "-q"]),
                    beforeEach: { try bench.deleteTopicIfPresent("imported") }),
                baseline: Timed(
                    label: "zstd -d | tar -x",
                    command: Command([
                        "sh", "-c",
                        "rm -rf '\(unpacked)' && mkdir '\(unpacked)' && zstd -d -q -c '\(baselineArchive)' | tar -x -C '\(unpacked)'",
                    ])))
        }
    }

    static func tarZstd(_ bench: Workbench, _ topic: TopicOnDisk, to archive: String) -> Command {
        Command(["sh", "-c", "tar -cf - -C '\(bench.dataDirectory)' '\(topic.name)-0' | zstd -3 -T0 -q -f -o '\(archive)'"])
    }
}
