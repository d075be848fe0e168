import KafkaFormat
import SluiceCore
import SluiceOperations
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// Export → import preserves every record byte for byte (docs/FORMAT.md §1).
@Suite struct ArchiveRoundTripTests {
    @Test func wholeTopicRoundTripKeepsEveryByte() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, producerId: 42)
        let source = try data.topic("orders")
        let result = try ArchiveFixture.export(source, to: dir.file("a.tar.zst"))
        #expect(result.summary.records == Int64(3 * 600 + 17 + 34))

        let target = try DataDirectory.open(dir.path + "/other")
        let imported = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: target)
        #expect(imported.topic == "orders" && imported.mode == .preserveOffsets)
        let copy = try target.topic("orders")
        #expect(copy.config == source.config)
        #expect(try ArchiveFixture.records(copy) == ArchiveFixture.records(source))
        for p in 0..<3 {
            #expect(try ArchiveFixture.batches(copy.partition(p)) == ArchiveFixture.batches(source.partition(p)))
            let segments = try source.partition(p).segments()
            #expect(segments.count > 2, "the fixture should span several segments")
            #expect(try copy.partition(p).segments().map(\.baseOffset) == segments.map(\.baseOffset))
            for segment in segments {
                #expect(
                    try FileSystem.readIfExists(segment.logPath)
                        == FileSystem.readIfExists(copy.partition(p).directory + "/" + segment.logName))
            }
        }
        #expect(try ArchiveFixture.problems(copy) == [])
        #expect(try FileSystem.list(target.stagingPath).isEmpty)
    }

    @Test func partitionSubsetKeepsPartitionNumbers() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir)
        let source = try data.topic("orders")
        var request = ExportRequest()
        request.partitions = [2, 0]
        let result = try ArchiveFixture.export(source, to: dir.file("a.tar.zst"), request)
        #expect(result.manifest.partitions.map(\.partition) == [0, 2])
        #expect(result.manifest.filters.partitions == [0, 2])
        _ = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "subset")
        let subset = try data.topic("subset")
        #expect(subset.partitionCount == 3)
        #expect(try ArchiveFixture.records(subset) == ArchiveFixture.records(source, partitions: [0, 2]))
        #expect(try subset.partition(1).offsetRange() == (0, 0))
        #expect(try ArchiveFixture.problems(subset) == [])
    }

    @Test(arguments: [CompressionCodec.none, .zstd])
    func offsetRangeCutMidBatchKeepsOffsetsAndProducerFields(codec: CompressionCodec) throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, codec: codec, producerId: 7)
        let source = try data.topic("orders")
        var request = ExportRequest()
        request.partitions = [1]
        request.fromOffset = 105
        request.toOffset = 287
        let result = try ArchiveFixture.export(source, to: dir.file("a.tar.zst"), request)
        #expect(result.manifest.partitions.first?.files.first?.name == "orders-1/00000000000000000105.log")
        _ = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "slice")
        let slice = try data.topic("slice")
        let expected = try ArchiveFixture.records(source, partitions: [1]).filter { (105..<287).contains($0.offset) }
        #expect(expected.count == 182)
        #expect(try ArchiveFixture.records(slice, partitions: [1]) == expected)
        #expect(try slice.partition(1).offsetRange() == (105, 287))
        #expect(try slice.partition(1).segments().first?.baseOffset == 105)

        let batches = try ArchiveFixture.batches(slice.partition(1))
        let original = try ArchiveFixture.batches(source.partition(1))
        let first = try #require(batches.first), last = try #require(batches.last)
        let cutFrom = try #require(original.first { $0.lastOffset >= 105 })
        #expect(first.baseOffset == 105 && first.producerId == 7 && first.producerEpoch == 3)
        #expect(first.attributes == cutFrom.attributes && first.attributes & 7 == codec.rawValue)
        #expect(first.baseSequence == cutFrom.baseSequence + Int32(105 - cutFrom.baseOffset))
        #expect(last.lastOffset == 286)
        #expect(Array(batches.dropFirst().dropLast()) == original.filter { $0.baseOffset > 105 && $0.lastOffset < 286 })
        #expect(try ArchiveFixture.problems(slice) == [])
    }

    @Test func rangeInsideOneBatchIsOneCutBatch() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, partitions: 1)
        let source = try data.topic("orders")
        var request = ExportRequest()
        request.fromOffset = 10
        request.toOffset = 20
        let result = try ArchiveFixture.export(source, to: dir.file("a.tar.zst"), request)
        #expect(result.summary.partitions.first?.files.map(\.batches) == [1])
        _ = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "ten")
        #expect(try ArchiveFixture.records(data.topic("ten")) == ArchiveFixture.records(source).filter { (10..<20).contains($0.offset) })
    }

    @Test func timeRangeSelectsThroughTheTimeIndex() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir)
        let source = try data.topic("orders")
        var request = ExportRequest()
        request.since = ArchiveFixture.baseTime + 200_000
        request.until = ArchiveFixture.baseTime + 450_000
        let result = try ArchiveFixture.export(source, to: dir.file("a.tar.zst"), request)
        #expect(result.manifest.filters.since == request.since && result.manifest.filters.until == request.until)
        _ = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "window")
        let window = try ArchiveFixture.records(data.topic("window"))
        #expect(window.count == 3 * 250)
        #expect(try window == ArchiveFixture.records(source).filter { $0.timestamp >= request.since! && $0.timestamp < request.until! })
        let stats = result.summary.partitions.flatMap(\.files)
        #expect(stats.compactMap(\.minTimestamp).min() == request.since)
        #expect(stats.compactMap(\.maxTimestamp).max() == request.until! - 1000)
    }

    @Test func appendWithTheSameCountCopiesPartitionToPartition() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, producerId: 9)
        let source = try data.topic("orders")
        try ArchiveFixture.export(source, to: dir.file("a.tar.zst"))
        let dest = try data.createTopic("dest", partitions: 3, config: source.config)
        try ArchiveFixture.fill(dest.partition(0), count: 50)
        try ArchiveFixture.fill(dest.partition(1), count: 1)
        let before = try ArchiveFixture.records(dest)

        let result = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "dest", mode: .append)
        #expect(result.partitions.map(\.firstOffset) == [50, 1, 0])
        let after = try ArchiveFixture.records(dest)
        #expect(Array(after.filter { $0.partition == 0 }.prefix(50)) == before.filter { $0.partition == 0 })
        for p in 0..<3 {
            let old = before.filter { $0.partition == p }.count
            let appended = Array(after.filter { $0.partition == p }.dropFirst(old))
            let original = try ArchiveFixture.records(source, partitions: [p])
            #expect(appended.map(\.offset) == original.map { $0.offset + Int64(old) })
            #expect(appended.map { [$0.key, $0.value] } == original.map { [$0.key, $0.value] })
            #expect(appended.map(\.timestamp) == original.map(\.timestamp) && appended.map(\.headers) == original.map(\.headers))
            #expect(try ArchiveFixture.batches(dest.partition(p)).suffix(3).allSatisfy { $0.producerId == 9 })
        }
        #expect(try ArchiveFixture.problems(dest) == [])
    }

    @Test func appendWithADifferentCountPlacesKeysLikeKafka() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir, codec: .zstd)
        let source = try data.topic("orders")
        try ArchiveFixture.export(source, to: dir.file("a.tar.zst"))
        let dest = try data.createTopic("wide", partitions: 5)
        try ArchiveFixture.fill(dest.partition(3), count: 10)

        let result = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "wide", mode: .append)
        let original = try ArchiveFixture.records(source)
        #expect(result.records == Int64(original.count))
        let imported = try ArchiveFixture.records(dest).filter { !($0.partition == 3 && $0.offset < 10) }
        #expect(imported.count == original.count)
        for record in imported where record.key != nil {
            let expected = record.key!.withUnsafeBytes { KafkaPartitioner.partition(forKey: $0, partitions: 5) }
            #expect(record.partition == expected, "key \(String(decoding: record.key!, as: UTF8.self))")
        }
        let unkeyed = (0..<5).map { p in imported.filter { $0.partition == p && $0.key == nil }.count }
        #expect(unkeyed.max()! - unkeyed.min()! <= 1, "\(unkeyed)")
        // Each key's records keep their order and content.
        for key in Set(original.compactMap(\.key)) {
            #expect(imported.filter { $0.key == key }.map(\.value) == original.filter { $0.key == key }.map(\.value))
        }
        #expect(try ArchiveFixture.batches(dest.partition(0)).allSatisfy { $0.attributes & 7 == CompressionCodec.zstd.rawValue })
        #expect(try ArchiveFixture.problems(dest) == [])
    }

    @Test func groupOffsetsTravelWithTheArchive() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir)
        let source = try data.topic("orders")
        let groups = InMemoryGroupStore()
        groups.offsets["orders"] = ["billing": [0: 100, 1: 250, 2: 1_000_000], "audit": [0: 5]]
        var request = ExportRequest()
        request.withGroups = true
        let all = try ArchiveFixture.export(source, to: dir.file("all.tar.zst"), request, groups: groups)
        #expect(all.manifest.groups?["billing"] == [0: 100, 1: 250, 2: 634])
        #expect(all.manifest.groups?["audit"] == [0: 5])

        let restored = InMemoryGroupStore()
        let result = try ArchiveFixture.importArchive(dir.file("all.tar.zst"), into: data, topic: "copy", groups: restored)
        #expect(result.restoredGroups == ["audit", "billing"])
        #expect(restored.offsets["copy"]?["billing"] == [0: 100, 1: 250, 2: 634])

        var backlog = ExportRequest()
        backlog.backlogOfGroup = "billing"
        let exported = try ArchiveFixture.export(source, to: dir.file("backlog.tar.zst"), backlog, groups: groups)
        #expect(exported.manifest.partitions.map(\.startOffset) == [100, 250, 634])
        #expect(exported.manifest.filters.group == "billing" && exported.manifest.groups?.keys.sorted() == ["billing"])
        _ = try ArchiveFixture.importArchive(dir.file("backlog.tar.zst"), into: data, topic: "backlog")
        let expected = try ArchiveFixture.records(source).filter { $0.offset >= [100, 250, 634][$0.partition] }
        #expect(try ArchiveFixture.records(data.topic("backlog")) == expected)

        #expect(throws: SluiceError.self) {
            try ArchiveFixture.importArchive(dir.file("all.tar.zst"), into: data, topic: "orders", mode: .append, groups: restored)
        }
    }

    @Test func dryRunsReadEverythingAndWriteNothing() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir)
        try ArchiveFixture.export(try data.topic("orders"), to: dir.file("a.tar.zst"))
        let before = try ArchiveFixture.snapshot(data.path)
        let created = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "copy", dryRun: true)
        let appended = try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, mode: .append, dryRun: true)
        #expect(created.records == appended.records && created.records == created.summary.records)
        #expect(appended.partitions.map(\.firstOffset) == [600, 617, 634])
        #expect(try ArchiveFixture.snapshot(data.path) == before)
        #expect(try data.existingTopic("copy") == nil)
    }

    @Test func existingTopicsNeedAppend() throws {
        let dir = TemporaryDirectory()
        let data = try ArchiveFixture.store(dir)
        try ArchiveFixture.export(try data.topic("orders"), to: dir.file("a.tar.zst"))
        let before = try ArchiveFixture.snapshot(data.path)
        for mode in [nil, ArchiveImporter.Mode.preserveOffsets] {
            #expect(throws: SluiceError.self) { try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, mode: mode) }
        }
        #expect(throws: SluiceError.self) {
            try ArchiveFixture.importArchive(dir.file("a.tar.zst"), into: data, topic: "nope", mode: .append)
        }
        #expect(try ArchiveFixture.snapshot(data.path) == before)
    }
}
