import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// How far a copy has got, for progress lines.
public struct CopyProgress: Sendable {
    public var records: Int64
    public var bytes: Int64
    /// Records copied before this run (a resumed copy), so rates count only this run's.
    public var recordsBefore: Int64
    /// Records to copy in all (nil while following).
    public var totalRecords: Int64?
    /// Records per target partition so far.
    public var targetRecords: [Int64]
}

/// Runs a record's copy chunk by chunk, exactly once across crashes:
///
/// 1. The record names each chunk before it is copied: per source partition
///    [next, chunkEnd), saved together with the previous chunk's commit.
/// 2. The chunk is copied into the target partitions and fsynced.
/// 3. The record is saved with the new `next` offsets and target ends (and
///    the next chunk's ends): the commit point, one atomic rename.
///
/// After `kill -9` anywhere, the next run redoes the named chunk from the
/// checkpoint; the batches it had already appended are produced again
/// identically and matched instead of written (`TargetLane`). A chunk is
/// about `chunkBytes` of the source; smaller chunks redo less after a crash
/// and fsync more often.
struct ChunkedCopy {
    static let defaultChunkBytes: Int64 = 1 << 30
    /// Batches are split when larger than this fraction of a partition's share (±2.5%).
    static let balanceDivisor: Int64 = 40
    static let minimumSplit: Int64 = 64
    static let followPollMillis: Int64 = 1000

    let store: RedistributionStore
    let source: Topic
    let target: Topic
    let chunkBytes: Int64
    var progress: ((CopyProgress) -> Void)?

    /// The largest piece a spreading strategy places whole: a fortieth of the
    /// share of a partition of the block, so the spread ends within ±2.5%.
    static func splitAbove(blockRecords: Int64, blockSize: Int) -> Int64 {
        max(minimumSplit, blockRecords / Int64(blockSize) / balanceDivisor)
    }

    /// Copies until every range reaches its stop or, when following, until
    /// `shouldStop`; returns false when it stopped before the end (the record
    /// is then saved at a chunk boundary, with nothing pending).
    func run(_ record: inout RedistributionRecord, shouldStop: () -> Bool) throws -> Bool {
        let copier = try BacklogCopier(source: source, target: target, record: record)
        defer { copier.close() }
        if copier.replaying && !record.chunkPending {
            throw SluiceError.failure(
                .redistributionConflict, "temporary topic '\(target.name)' holds records past its checkpoint and no copy was in progress",
                remedy: "nothing but the redistribution may write to it; finish it with --force and start again")
        }
        let recordSizes = try averageRecordSizes()
        let recordsBefore = record.copiedRecords
        var lastPlanned: UInt64?
        while true {
            if !record.chunkPending {
                try copier.drain()
                if record.copyComplete { return true }
                if shouldStop() { return false }
                if let last = lastPlanned, try !waitForNewRecords(since: last, shouldStop: shouldStop) { return false }
                try plan(&record, recordSizes)
                lastPlanned = WallClock.monotonicNanos()
                guard record.chunkPending else { continue }
                try copier.commit(record, to: store)
            }
            let copied = (record.copiedRecords, record.copiedBytes), total = record.backlogRecords
            copier.onProgress = progress.map { report in
                { [unowned copier] records, bytes in
                    report(
                        CopyProgress(
                            records: copied.0 + records, bytes: copied.1 + bytes, recordsBefore: recordsBefore,
                            totalRecords: total, targetRecords: copier.targetRecords))
                }
            }
            try copier.copyChunk(&record)
            if !shouldStop() {
                try plan(&record, recordSizes)
                lastPlanned = WallClock.monotonicNanos()
            }
            try copier.commit(record, to: store)
        }
    }

    /// Following and caught up: waits until a second after the last look;
    /// false when told to stop meanwhile.
    private func waitForNewRecords(since last: UInt64, shouldStop: () -> Bool) throws -> Bool {
        while WallClock.monotonicNanos() - last < UInt64(Self.followPollMillis) * 1_000_000 {
            if shouldStop() { return false }
            usleep(50_000)
        }
        return true
    }

    /// Names the next chunk: per source partition up to about its share of
    /// `chunkBytes` further, capped by its stop (or, following, its end now).
    func plan(_ record: inout RedistributionRecord, _ recordSizes: [Int64]) throws {
        let share = max(1, chunkBytes / Int64(record.sources.count))
        for i in record.sources.indices {
            let source = record.sources[i]
            let limit = try source.stop ?? self.source.partition(source.partition).endOffset()
            record.sources[i].chunkEnd = max(source.next, min(limit, source.next + max(1, share / recordSizes[i])))
        }
        guard record.follow, record.strategy != .key else { return }
        // Following: each partition's share of the spread grows with what has arrived.
        let blockSize = record.strategy == .sourcePartition ? record.factor! : record.targetPartitions
        let blocks = record.strategy == .sourcePartition ? record.sources.indices.map { [$0] } : [Array(record.sources.indices)]
        for block in blocks {
            let records = block.reduce(Int64(0)) { total, i in
                total + record.sources[i].copiedRecords + record.sources[i].chunkEnd - record.sources[i].next
            }
            for i in block { record.sources[i].splitAbove = Self.splitAbove(blockRecords: records, blockSize: blockSize) }
        }
    }

    /// Bytes per record of each source partition (at least 1), to size chunks.
    private func averageRecordSizes() throws -> [Int64] {
        try source.partitions().map { partition in
            let extent = try partition.extent()
            let records = extent.end - extent.start
            return records > 0 ? max(1, extent.bytes / records) : 100
        }
    }
}
