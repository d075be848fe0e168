import KafkaFormat
import SluiceCore
import SluiceStorage
import SluiceSystem
import Synchronization

/// One partition of the target topic being written. Batches collect in
/// `pending` and reach the partition in large appends; `end` counts what is
/// pending, so the target offset of every record is known when it is placed.
///
/// Replaying an interrupted chunk: batches that chunk already appended (past
/// the last checkpoint) are produced again in the same order, because the
/// copy is a deterministic function of the checkpoint and the source. Each
/// one is checked against the batch on disk (same CRC-32C, same offset span)
/// and not written a second time, so no record is ever copied twice and no
/// record a reader may have seen is ever taken back.
final class TargetLane: @unchecked Sendable {
    let partition: Partition
    /// Batches placed and not yet handed to the writer.
    private(set) var pending: ByteBuffer
    /// The offset the next batch placed here will get.
    private(set) var end: Int64
    var records: Int64
    /// Key strategy: records collect here until the batch is full.
    var builder: RecordBatchBuilder?
    /// Used on the writer thread only.
    private let appender: PartitionAppender
    private var unsynced = false
    private let writer: OrderedWriter
    private let buffers: BufferPool
    private let flushBytes: Int
    private var replay: Replay?
    /// The offset the first pending batch will get.
    private var pendingOffset: Int64

    init(partition: Partition, checkpoint: RedistributionRecord.Target, writer: OrderedWriter, buffers: BufferPool, flushBytes: Int) throws
    {
        self.partition = partition
        appender = try PartitionAppender(partition: partition)
        self.writer = writer
        self.buffers = buffers
        pending = buffers.take()
        self.flushBytes = flushBytes
        end = checkpoint.end
        records = checkpoint.records
        pendingOffset = checkpoint.end
        // A killed run may have left a torn batch, which a replayed chunk might never append after.
        try appender.recoverTail()
        let actual = try partition.endOffset()
        if actual < checkpoint.end {
            throw SluiceError.failure(
                .redistributionConflict,
                """
                temporary partition \(partition.name) ends at offset \(actual), before the \
                \(checkpoint.end) its checkpoint made durable: records were removed from it
                """,
                remedy: "finish it with --force and start again")
        }
        if actual > checkpoint.end { replay = try Replay(partition: partition, from: checkpoint.end, to: actual) }
    }

    /// Offsets past the checkpoint still to be matched by replayed batches.
    var replayRemaining: Int64 { replay?.remaining ?? 0 }

    /// Takes the complete batch just written at `pending[start...]`: keeps it
    /// for the next append, or, when it replays one already on disk, checks it
    /// and drops it.
    func commitBatch(at start: Int) throws {
        let header = RecordBatchHeader(UnsafeRawPointer(pending.base + start))
        let span = Int64(header.lastOffsetDelta) + 1
        if let replay, replay.remaining > 0 {
            try replay.match(header, partition: partition, at: end)
            pending.truncate(to: start)
            end += span
            pendingOffset = end
            return
        }
        end += span
        if pending.count >= flushBytes { try flush() }
    }

    /// Hands the pending batches to the writer, which appends them (not yet durable).
    func flush() throws {
        guard !pending.isEmpty else { return }
        let batches = pending, first = pendingOffset, next = end
        pending = buffers.take()
        pendingOffset = end
        try writer.submit(weight: batches.count) { [self] in
            let result = try appender.append(batches)
            appender.startWriteback()
            buffers.give(batches)
            unsynced = true
            guard result.firstOffset == first, result.nextOffset == next else {
                throw SluiceError.failure(
                    .redistributionConflict,
                    """
                    temporary partition \(partition.name) was written by another process \
                    (its batches landed at offset \(result.firstOffset), expected \(first))
                    """,
                    remedy: "nothing but the redistribution may write to it; finish it with --force and start again")
            }
        }
    }

    /// Finishes the key strategy's open batch, if any.
    func closeBatch() throws {
        guard let builder, !builder.isEmpty else { return }
        let start = pending.count
        try builder.finish(baseOffset: 0, into: pending)
        try commitBatch(at: start)
    }

    /// Makes everything appended durable; runs on the writer thread.
    func sync() throws {
        guard unsynced else { return }
        try appender.sync()
        unsynced = false
    }
}

/// Spare buffers for lanes' batches, shared with the writer thread that
/// returns them once appended, so a copy allocates only while it grows.
final class BufferPool: Sendable {
    /// A buffer in the pool, which no thread uses until `take` hands it out: it may go to any thread.
    private struct Spare: @unchecked Sendable {
        let buffer: ByteBuffer
    }

    private let spare = Mutex<[Spare]>([])
    private let keep: Int
    private let capacity: Int

    init(keep: Int, capacity: Int) {
        self.keep = keep
        self.capacity = capacity
    }

    func take() -> ByteBuffer {
        spare.withLock { $0.popLast() }?.buffer ?? ByteBuffer(capacity: capacity)
    }

    func give(_ buffer: ByteBuffer) {
        buffer.clear()
        buffer.shrink(toCapacity: capacity * 2)
        spare.withLock { if $0.count < keep { $0.append(Spare(buffer: buffer)) } }
    }
}

/// The batches an interrupted chunk left past a target partition's checkpoint.
private final class Replay {
    let reader: PartitionReader
    var remaining: Int64

    init(partition: Partition, from offset: Int64, to end: Int64) throws {
        reader = try PartitionReader(partition: partition, from: offset, chunkSize: 256 << 10)
        remaining = end - offset
    }

    func match(_ produced: RecordBatchHeader, partition: Partition, at offset: Int64) throws {
        let span = Int64(produced.lastOffsetDelta) + 1
        guard case .batch(let found, _)? = try reader.next(), found.header.baseOffset == offset, found.header.crc == produced.crc,
            found.header.lastOffsetDelta == produced.lastOffsetDelta, span <= remaining
        else {
            throw SluiceError.failure(
                .redistributionConflict,
                "temporary partition \(partition.name) holds, at offset \(offset), a batch the interrupted copy did not write",
                remedy: "nothing but the redistribution may write to it; finish it with --force and start again")
        }
        remaining -= span
    }
}
