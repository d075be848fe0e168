import Foundation
import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport
import Testing

/// A partition whose last batch is damaged (issue 14, D1): every position of
/// damage within the last batch and within the last index entries, on one and
/// on several segments. Before the fix an index entry pointing at the damaged
/// batch made the end fall back to the segment's base offset, and the next
/// writer reused every offset after it.
@Suite struct DamagedTailTests {
    /// A partition of 2,000 records in batches of 40 (each batch gets an
    /// index entry at this interval), in `segments` segments.
    func filled(_ dir: TemporaryDirectory, segments: Int) throws -> (Partition, [StoredRecord]) {
        let bytes = segments == 1 ? "1073741824" : "30000"
        let partition = try makeTopic(dir, config: ["index.interval.bytes=1024", "segment.bytes=\(bytes)"]).partition(0)
        let records = try appendRecords(try PartitionAppender(partition: partition), count: 2000, perBatch: 40)
        #expect(try partition.segments().count >= segments)
        return (partition, records)
    }

    /// The byte range of the last batch of the last segment.
    func lastBatch(_ partition: Partition) throws -> (segment: Segment, start: Int64, end: Int64, baseOffset: Int64) {
        let segment = try partition.segments().last!
        let log = try File.open(segment.logPath)
        let scanner = SegmentScanner(file: log, limit: try log.size(), from: 0, buffer: ByteBuffer(capacity: 1 << 20))
        var last: (Int64, Int64, Int64)?
        while case .batch(let batch) = try scanner.next() { last = (batch.position, scanner.position, batch.header.baseOffset) }
        return (segment, last!.0, last!.1, last!.2)
    }

    func flip(_ path: String, at position: Int64) throws {
        let file = try File.open(path, .readWrite)
        var byte: UInt8 = 0
        _ = try withUnsafeMutableBytes(of: &byte) { try file.readFully(into: $0, at: position) }
        byte ^= 0x10
        try withUnsafeBytes(of: &byte) { try file.write($0, at: position) }
    }

    @Test(arguments: [1, 3])
    func damageAnywhereInTheLastBatchKeepsEveryEarlierOffsetAndRefusesWrites(segments: Int) throws {
        let dir = TemporaryDirectory()
        let (pristine, records) = try filled(dir, segments: segments)
        let (segment, start, end, base) = try lastBatch(pristine)
        let original = try Data(contentsOf: URL(fileURLWithPath: segment.logPath))
        let stride = max(1, (end - start) / 97)
        // From byte 8: the base offset (bytes 0-7) is outside the CRC, and a damaged one is a discontinuity, which
        // writers refuse whatever the rest says.
        for position in Swift.stride(from: start + 8, to: end, by: Int(stride)) {
            try original.write(to: URL(fileURLWithPath: segment.logPath))
            try flip(segment.logPath, at: position)
            let partition = try DataDirectory.open(dir.path + "/data").topic("t").partition(0)
            let tail = try partition.tail()
            // The partition leader epoch and the CRC field's neighbours outside the checksummed range may change unseen.
            if tail.problem == nil && tail.endOffset == 2000 { continue }
            #expect(tail.endOffset == base, "damage at byte \(position): end \(tail.endOffset), last valid batch ends at \(base)")
            #expect(try partition.offsetRange().end == base)
            // Not even a flipped length that runs past the end of the file: the CRC still matches what is there.
            #expect(!tail.problemIsTorn, "damage at byte \(position) read as a torn write")
            #expect(throws: SluiceError.self, "damage at byte \(position): appending must be refused") {
                try appendRecords(try PartitionAppender(partition: partition), count: 1, startIndex: 2000)
            }
            #expect(try readBefore(partition, base) == Array(records.prefix(Int(base))), "damage at byte \(position)")
        }
    }

    @Test func damagedIndexEntriesAtTheTailAreIgnored() throws {
        let dir = TemporaryDirectory()
        let (partition, records) = try filled(dir, segments: 1)
        let segment = try partition.segments().last!
        let index = try Data(contentsOf: URL(fileURLWithPath: segment.indexPath))
        let entries = index.count / OffsetIndexEntry.size
        for entry in max(0, entries - 4)..<entries {
            for byte in 0..<OffsetIndexEntry.size {
                try index.write(to: URL(fileURLWithPath: segment.indexPath))
                try flip(segment.indexPath, at: Int64(entry * OffsetIndexEntry.size + byte))
                #expect(try partition.tail().endOffset == 2000, "index entry \(entry) byte \(byte)")
                #expect(try readAll(partition) == records, "index entry \(entry) byte \(byte)")
            }
        }
    }

    @Test func aRepairReservesTheOffsetsItCutsOff() throws {
        let dir = TemporaryDirectory()
        let (partition, records) = try filled(dir, segments: 1)
        let (segment, start, _, base) = try lastBatch(partition)
        try flip(segment.logPath, at: start + 70)
        let check = try PartitionVerifier.check(partition, strict: true)
        let actions = try PartitionVerifier.repair(check, sideDirectory: dir.path + "/side")
        #expect(actions.contains { $0.contains("reserved offsets \(base)..<2000") }, "\(actions)")
        let next = try appendRecords(try PartitionAppender(partition: partition), count: 3, startIndex: 2000)
        #expect(next.map(\.offset) == [2000, 2001, 2002])
        #expect(try readAll(partition) == Array(records.prefix(Int(base))) + next)
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    @Test func aRepairReservesOffsetsAGroupCommittedPast() throws {
        let dir = TemporaryDirectory()
        let (partition, _) = try filled(dir, segments: 1)
        let (segment, start, _, _) = try lastBatch(partition)
        // The length is damaged so that the batch runs past the end of the file: no index entry or header is believed.
        try FileSystem.removeFile(segment.indexPath)
        try flip(segment.logPath, at: start + 10)
        let check = try PartitionVerifier.check(partition, strict: true)
        _ = try PartitionVerifier.repair(check, sideDirectory: dir.path + "/side", committedEnd: 2500)
        let next = try appendRecords(try PartitionAppender(partition: partition), count: 1, startIndex: 2000)
        #expect(next.map(\.offset) == [2500])
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    /// Found by the corruption trials: a base offset (outside the CRC) and a
    /// length both damaged hid the batch's offsets from the repair, which
    /// then handed them out again.
    @Test func aRepairReservesTheOffsetsOfABatchWhoseBaseOffsetAndLengthAreDamaged() throws {
        let dir = TemporaryDirectory()
        let (partition, _) = try filled(dir, segments: 1)
        let (segment, start, _, base) = try lastBatch(partition)
        try FileSystem.removeFile(segment.indexPath)
        try flip(segment.logPath, at: start + 2)
        try flip(segment.logPath, at: start + 9)
        let actions = try PartitionVerifier.repair(try PartitionVerifier.check(partition, strict: true), sideDirectory: dir.path + "/side")
        #expect(actions.contains { $0.contains("reserved offsets \(base)..<2000") }, "\(actions)")
    }

    /// Found by the corruption trials: a CRC-valid batch whose damaged base
    /// offset lies beyond its segment's 32-bit range trapped every reader of the tail.
    @Test func aBaseOffsetBeyondItsSegmentIsADiscontinuityNotATrap() throws {
        let dir = TemporaryDirectory()
        let (partition, _) = try filled(dir, segments: 1)
        let (segment, start, _, _) = try lastBatch(partition)
        try flip(segment.logPath, at: start + 3)
        #expect(try partition.tail().discontinuity != nil)
        #expect(throws: SluiceError.self) { try appendRecords(try PartitionAppender(partition: partition), count: 1, startIndex: 2000) }
        _ = try PartitionVerifier.repair(try PartitionVerifier.check(partition, strict: true), sideDirectory: dir.path + "/side")
        #expect(try PartitionVerifier.check(partition, strict: true).isClean)
    }

    func readBefore(_ partition: Partition, _ end: Int64) throws -> [StoredRecord] {
        let reader = try PartitionReader(partition: partition, from: 0)
        let decoder = BatchDecoder()
        var out: [StoredRecord] = []
        while out.count < end, case .batch(let batch, _)? = try reader.next() {
            var records = try reader.records(of: batch, with: decoder)
            while let r = try records.next() {
                out.append(
                    StoredRecord(
                        offset: r.offset, timestamp: r.timestamp, key: r.key.map(Array.init), value: r.value.map(Array.init),
                        headers: r.headers.flatMap { [Array($0.key), $0.value.map(Array.init) ?? []] }))
            }
        }
        return out
    }
}
