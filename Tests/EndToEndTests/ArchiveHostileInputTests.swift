import Foundation
import SluiceCore
import TestSupport
import Testing

/// Damaged, hostile and lying archives: each gets one `error:` line naming
/// what is wrong and a non-zero exit, changes nothing in the data directory,
/// writes nothing outside it, and runs in bounded memory.
@Suite struct ArchiveHostileInputTests {
    /// A store and a good archive of it, built once and copied by each case.
    final class Fixture: Sendable {
        let dir = TemporaryDirectory()
        let store: String
        let archive: String
        let tar: [UInt8]

        init() throws {
            store = dir.file("store")
            archive = dir.file("good.tar.zst")
            try ArchiveStore.make(store)
            try ArchiveStore.export(store, to: archive)
            tar = try ArchiveStore.decompress(archive)
        }
    }

    static let fixture = Result { try Fixture() }

    enum Hostile: String, CaseIterable, Sendable {
        case truncated, zstdBitFlip, segmentBitFlip, bitFlipOutsideBatchCRC
        case liedRecordCount, liedRange, liedPartitionNumber, liedFileSize
        case dotDotPath, absolutePath, symbolicLink, hardLink, device, enormousManifest, enormousSegment
        case otherFormatVersion, emptyFile, plainTar, stdinClosedEarly, unlistedEntry, hugeBatchOffset

        var expectation: (status: Int32, message: String) {
            switch self {
            case .truncated, .stdinClosedEarly: return (2, "is truncated")
            case .zstdBitFlip: return (2, "is damaged")
            case .segmentBitFlip: return (2, "fails its CRC check")
            case .bitFlipOutsideBatchCRC: return (2, "summary.json says orders-1/00000000000000000000.log has")
            case .liedRecordCount: return (2, "summary.json says orders-0/00000000000000000000.log has")
            case .liedRange: return (2, "outside partition 0's range")
            case .liedPartitionNumber: return (2, "lists partition 7 of a topic with 3 partitions")
            case .liedFileSize: return (2, "but manifest.json says")
            case .dotDotPath: return (2, "climbs out of the archive with '..'")
            case .absolutePath: return (2, "has an absolute path")
            case .symbolicLink: return (2, "is a symbolic link")
            case .hardLink: return (2, "is a hard link")
            case .device: return (2, "is a device or FIFO")
            case .enormousManifest: return (2, "manifest.json declares 8589934591 bytes, more than the 16777216-byte limit")
            case .enormousSegment: return (2, "holds 8589934591 bytes but manifest.json says")
            case .otherFormatVersion: return (1, "the archive has format version 2; this sluice reads version 1")
            case .emptyFile: return (2, "is empty")
            case .plainTar: return (2, "is a plain tar file")
            case .unlistedEntry: return (2, "is not listed in manifest.json")
            case .hugeBatchOffset: return (2, "holds offsets from 9223372036854775800, outside partition 0's range")
            }
        }

        /// Writes the hostile archive into `dir`; returns its path.
        func build(_ fixture: Fixture, in dir: String, evil: String) throws -> String {
            let path = dir + "/hostile.tar.zst"
            var good = try Data(contentsOf: URL(fileURLWithPath: fixture.archive))
            var tar = TarEdit(bytes: fixture.tar)
            let firstLog = tar.header(named: "orders-0/00000000000000000000.log")
            switch self {
            case .truncated, .stdinClosedEarly:
                try good.prefix(good.count * 6 / 10).write(to: URL(fileURLWithPath: path))
                return path
            case .zstdBitFlip:
                good[good.count / 2] ^= 0x10
                try good.write(to: URL(fileURLWithPath: path))
                return path
            case .emptyFile:
                try Data().write(to: URL(fileURLWithPath: path))
                return path
            case .plainTar:
                try Data(fixture.tar).write(to: URL(fileURLWithPath: path))
                return path
            case .segmentBitFlip:
                tar.bytes[tar.dataRange(at: firstLog).lowerBound + 200] ^= 0x04
            case .bitFlipOutsideBatchCRC:
                // The partition leader epoch (bytes 12-15) is outside the batch CRC: only the summary's file checksum sees it.
                tar.bytes[tar.dataRange(at: tar.header(named: "orders-1/00000000000000000000.log")).lowerBound + 14] ^= 0x01
            case .liedRecordCount:
                try tar.editJSON("summary.json") { summary in
                    var partitions = summary["partitions"] as! [[String: Any]]
                    var files = partitions[0]["files"] as! [[String: Any]]
                    files[0]["records"] = (files[0]["records"] as! Int) + 1
                    partitions[0]["files"] = files
                    partitions[0]["records"] = (partitions[0]["records"] as! Int) + 1
                    summary["partitions"] = partitions
                    summary["records"] = (summary["records"] as! Int) + 1
                }
            case .liedRange:
                try tar.editJSON("manifest.json") { manifest in
                    var partitions = manifest["partitions"] as! [[String: Any]]
                    partitions[0]["end_offset"] = (partitions[0]["end_offset"] as! Int) / 2
                    manifest["partitions"] = partitions
                }
            case .liedPartitionNumber:
                try tar.editJSON("manifest.json") { manifest in
                    var partitions = manifest["partitions"] as! [[String: Any]]
                    partitions[2]["partition"] = 7
                    manifest["partitions"] = partitions
                }
            case .liedFileSize:
                try tar.editJSON("manifest.json") { manifest in
                    var partitions = manifest["partitions"] as! [[String: Any]]
                    var files = partitions[0]["files"] as! [[String: Any]]
                    files[0]["bytes"] = (files[0]["bytes"] as! Int) - 512
                    partitions[0]["files"] = files
                    manifest["partitions"] = partitions
                }
            case .otherFormatVersion:
                try tar.editJSON("manifest.json") { $0["format_version"] = 2 }
            case .dotDotPath:
                tar.set(firstLog, name: "../\(evil)")
            case .absolutePath:
                tar.set(firstLog, name: evil)
            case .symbolicLink:
                tar.set(firstLog, type: UInt8(ascii: "2"), linkName: "/etc/passwd")
            case .hardLink:
                tar.set(firstLog, type: UInt8(ascii: "1"), linkName: "manifest.json")
            case .device:
                tar.set(firstLog, type: UInt8(ascii: "3"))
            case .enormousManifest:
                tar.set(tar.header(named: "manifest.json"), size: "77777777777")
            case .enormousSegment:
                tar.set(firstLog, size: "77777777777")
            case .unlistedEntry:
                tar.set(firstLog, name: "orders-0/00000000000000000001.log")
            case .hugeBatchOffset:
                // The base offset is outside the batch CRC: near Int64.max, its last offset would overflow.
                let at = tar.dataRange(at: firstLog).lowerBound
                tar.bytes.replaceSubrange(at..<at + 8, with: [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF8])
            }
            try ArchiveStore.compress(tar.bytes, to: path)
            return path
        }
    }

    @Test(arguments: Hostile.allCases)
    func hostileArchiveIsRefusedCleanly(_ hostile: Hostile) throws {
        let fixture = try Self.fixture.get()
        let dir = TemporaryDirectory("sluice-hostile")
        let data = dir.file("data")
        try ArchiveStore.copy(fixture.store, to: data)
        let evil = "/tmp/sluice-evil-\(UUID().uuidString).log"
        let archive = try hostile.build(fixture, in: dir.path, evil: evil)
        let before = try ArchiveStore.snapshot(data)
        let around = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()

        // Under a 200 MiB address-space limit: resident memory cannot exceed
        // it, and any allocation sized from the archive beyond it would fail.
        let source = hostile == .stdinClosedEarly ? "head -c 20000 '\(fixture.archive)' | " : ""
        let run = try ArchiveStore.shell(
            """
            \(memoryLimitPrefix(mebibytes: 200))\(source)'\(SluiceProcess.binary)' \
            import '\(source.isEmpty ? archive : "-")' --topic copy
            """,
            environment: ["SLUICE_DATA_DIR": data])
        let (status, lines) = (run.status, SluiceProcess.errorLines(run.err))
        let (expectedStatus, message) = hostile.expectation
        #expect(status == expectedStatus, "\(hostile): \(lines)")
        #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(hostile): \(lines)")
        #expect(lines.first?.contains(message) == true, "\(hostile): \(lines)")
        #expect(try ArchiveStore.snapshot(data) == before, "\(hostile) changed the data directory")
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: data + "/.sluice/staging")) ?? []).isEmpty,
            "\(hostile) left a staging area")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == around, "\(hostile) wrote beside the data directory")
        #expect(
            !FileManager.default.fileExists(atPath: evil)
                && !FileManager.default.fileExists(atPath: "/tmp/" + evil.split(separator: "/").last!))
    }

    @Test func bitFlipsAnywhereInTheCompressedStreamAreCaught() throws {
        let fixture = try Self.fixture.get()
        let dir = TemporaryDirectory("sluice-flips")
        let data = dir.file("data")
        try ArchiveStore.copy(fixture.store, to: data)
        let before = try ArchiveStore.snapshot(data)
        let good = try Data(contentsOf: URL(fileURLWithPath: fixture.archive))
        var random = SeededRandom(seed: 4_242)
        for trial in 0..<12 {
            var bad = good
            let at = Int.random(in: 0..<bad.count, using: &random)
            bad[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            try bad.write(to: URL(fileURLWithPath: dir.file("flipped.tar.zst")))
            let run = try SluiceProcess.run(["import", dir.file("flipped.tar.zst"), "--topic", "copy"], dataDir: data)
            #expect(run.status == 2, "trial \(trial), byte \(at): \(run.err)")
            #expect(
                run.errorLines.count == 1 && run.errorLines.first?.hasPrefix("error: archive ") == true,
                "trial \(trial), byte \(at): \(run.errorLines)")
        }
        #expect(try ArchiveStore.snapshot(data) == before)
    }
}
