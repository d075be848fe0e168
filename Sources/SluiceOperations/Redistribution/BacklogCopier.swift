import KafkaFormat
import SluiceCore
import SluiceStorage

/// Copies ranges of a source topic's partitions into a target topic, one
/// chunk at a time, placing records by the record's strategy.
///
/// - Fast path: a batch wholly inside its range, under a strategy that
///   spreads whole batches and without provenance headers, is copied byte for
///   byte; only its base offset changes, which Kafka's CRC does not cover.
/// - Every other batch is re-encoded: records keep key, value, headers and
///   timestamp (a log-append-time batch's time becomes each record's
///   create time), gain the provenance header when asked, and are compressed
///   with zstd when their batch was compressed (unless the target topic's
///   compression.type says otherwise). Control batches (transaction markers)
///   are not records and are not copied.
/// - Placement depends only on the checkpoint and the source, never on time
///   or chance, so a chunk replayed after a crash makes the same batches in
///   the same places (`TargetLane`).
final class BacklogCopier {
    /// Key strategy: an open batch is closed at this many bytes.
    static let keyBatchBytes = 64 << 10

    private let source: Topic
    private let writer: OrderedWriter
    private let strategy: RedistributionStrategy
    private let provenance: Bool
    private let blockSize: Int
    private let lanes: [TargetLane]
    private var spread: Spread
    private var unkeyedNext: Int
    private var readers: [Int: PartitionReader] = [:]
    private let decoder = BatchDecoder()
    private var pieceBuilders: [CompressionCodec: RecordBatchBuilder] = [:]
    private let headers = ByteBuffer(capacity: 1 << 10)
    private let provenanceHeaders: [ProvenanceHeader]
    private let targetConfig: TopicConfig
    private var translation: OffsetTranslation?
    /// The spreading strategies' piece in progress: its partition and builder.
    private var openPiece: (Int, RecordBatchBuilder)?
    /// Told the records and bytes copied so far in the chunk, every `progressBytes` read.
    var onProgress: ((Int64, Int64) -> Void)?
    static let progressBytes: Int64 = 32 << 20
    private var reportedAt: Int64 = 0

    /// Records placed so far (all sources), and per source partition the records
    /// and source bytes copied in the current chunk.
    private var placed: Int64 = 0
    private var chunkRecords: [Int64]
    private var chunkBytes: [Int64]

    /// Bytes of appends waiting for the writer thread at most.
    static let writeBehindBytes = 32 << 20

    init(source: Topic, target: Topic, record: RedistributionRecord) throws {
        self.source = source
        strategy = record.strategy
        provenance = record.provenance
        blockSize = record.strategy == .sourcePartition ? record.factor! : record.targetPartitions
        let flushBytes = min(1 << 20, max(64 << 10, (32 << 20) / record.targetPartitions))
        let writer = OrderedWriter(capacity: Self.writeBehindBytes)
        self.writer = writer
        let buffers = BufferPool(keep: 16, capacity: flushBytes + (64 << 10))
        do {
            lanes = try record.targets.map {
                try TargetLane(
                    partition: target.partition($0.partition), checkpoint: $0, writer: writer, buffers: buffers, flushBytes: flushBytes)
            }
        } catch {
            writer.close()
            throw error
        }
        spread = Spread(records: record.targets.map(\.records), blockSize: blockSize)
        unkeyedNext = record.unkeyedNext
        provenanceHeaders = source.partitionIndices.map { ProvenanceHeader(topic: source.name, partition: $0) }
        targetConfig = target.config
        chunkRecords = Array(repeating: 0, count: source.partitionCount)
        chunkBytes = chunkRecords
        if record.kind == .migration { translation = OffsetTranslation(record) }
    }

    /// Whether the target holds batches of an interrupted chunk, which the next chunk must replay.
    var replaying: Bool { lanes.contains { $0.replayRemaining > 0 } }

    /// Saves the record once everything submitted before is appended and
    /// fsynced: the commit point of the chunks copied so far. Runs on the writer thread.
    func commit(_ record: RedistributionRecord, to store: RedistributionStore) throws {
        try writer.submit { [lanes] in
            for lane in lanes { try lane.sync() }
            var saved = record
            try store.save(&saved)
        }
    }

    /// Waits for the writer thread to finish what was submitted.
    func drain() throws { try writer.drain() }

    /// Stops the writer thread (after `drain`, or to abandon after an error).
    func close() { writer.close() }

    /// Copies every source's [next, chunkEnd) and records the new positions
    /// in `record`; the appends run behind, on the writer thread, until `commit`.
    func copyChunk(_ record: inout RedistributionRecord) throws {
        chunkRecords = chunkRecords.map { _ in 0 }
        chunkBytes = chunkRecords
        reportedAt = 0
        for source in record.sources where source.chunkEnd > source.next {
            try copy(source.partition, from: source.next, to: source.chunkEnd, splitAbove: source.splitAbove)
        }
        for lane in lanes { try lane.closeBatch() }
        for lane in lanes { try lane.flush() }
        if let lane = lanes.first(where: { $0.replayRemaining > 0 }) {
            throw SluiceError.failure(
                .redistributionConflict,
                """
                temporary partition \(lane.partition.name) holds \(lane.replayRemaining) \
                offsets past its checkpoint that the interrupted copy did not write
                """,
                remedy: "nothing but the redistribution may write to it; finish it with --force and start again")
        }
        for i in record.sources.indices {
            record.sources[i].copiedRecords += chunkRecords[record.sources[i].partition]
            record.sources[i].copiedBytes += chunkBytes[record.sources[i].partition]
            record.sources[i].next = record.sources[i].chunkEnd
        }
        for q in record.targets.indices {
            record.targets[q].end = lanes[q].end
            record.targets[q].records = lanes[q].records
        }
        record.unkeyedNext = unkeyedNext
        translation?.store(into: &record)
        onProgress?(chunkRecords.reduce(0, +), chunkBytes.reduce(0, +))
    }

    /// Records per target partition so far.
    var targetRecords: [Int64] { lanes.map(\.records) }

    // MARK: - reading

    private func copy(_ p: Int, from: Int64, to: Int64, splitAbove: Int64) throws {
        let reader = try self.reader(p, at: from)
        let placedBefore = placed
        defer { chunkRecords[p] += placed - placedBefore }
        reading: while reader.nextOffset < to {
            guard let entry = try reader.next() else {
                throw SluiceError.failure(
                    .offsetOutOfRange,
                    "partition \(source.name)-\(p) ends at offset \(reader.nextOffset), before offset \(to) the copy must reach",
                    remedy: "was it truncated or deleted? finish the redistribution with --force and start again")
            }
            switch entry {
            case .batch(let batch, let readFrom):
                let header = batch.header
                let low = max(readFrom, from)
                // Past the range (it ends in a gap of a compacted log): the next chunk reads it again.
                guard low < to else { break reading }
                guard !header.isControl else { continue }
                // A batch cut by the chunk's end counts in the chunk that finishes it.
                if header.nextOffset <= to { chunkBytes[p] += Int64(header.totalSize) }
                reportProgress(chunkRecords[p] + placed - placedBefore, p)
                if header.baseOffset >= low && header.nextOffset <= to && canPlaceWhole(header, splitAbove) {
                    try placeWhole(batch, from: p)
                } else {
                    try placeRecords(of: batch, from: p, in: low..<to, splitAbove: splitAbove, reader: reader)
                }
            case .legacy(let message):
                guard message.offset < to else { break reading }
                chunkBytes[p] += Int64((message.key?.count ?? 0) + (message.value?.count ?? 0))
                try placeRecord(
                    message.record, from: p, codec: targetConfig.codec(requested: CompressionCodec.none), splitAbove: splitAbove)
                try closePiece(from: p)
            }
        }
        // A reader that went past `to` (a batch cut by the chunk's end) starts again there next time.
        if reader.nextOffset != to { readers[p] = nil }
    }

    /// Reports progress every `progressBytes` of the chunk, counting partition
    /// `p`'s records placed so far (`inPartition`) with the others' finished ones.
    private func reportProgress(_ inPartition: Int64, _ p: Int) {
        guard let onProgress else { return }
        let bytes = chunkBytes.reduce(0, +)
        guard bytes - reportedAt >= Self.progressBytes else { return }
        reportedAt = bytes
        onProgress(chunkRecords.reduce(0, +) - chunkRecords[p] + inPartition, bytes)
    }

    private func reader(_ p: Int, at offset: Int64) throws -> PartitionReader {
        if let reader = readers[p], reader.nextOffset == offset { return reader }
        let partition = try source.partition(p)
        let reader: PartitionReader
        do {
            reader = try PartitionReader(partition: partition, from: offset)
        } catch let error as SluiceError where error.reason == .offsetOutOfRange {
            throw SluiceError.failure(
                .offsetOutOfRange,
                "records of partition \(partition.name) from offset \(offset) were removed (by retention?) before they were copied",
                remedy: "they are lost to the copy; finish the redistribution with --force and start again")
        }
        readers[p] = reader
        return reader
    }

    /// Whether a batch in its range can go whole to one partition: copied
    /// untouched, or with the provenance header spliced into its records
    /// when uncompressed (otherwise it is re-encoded record by record).
    private func canPlaceWhole(_ header: RecordBatchHeader, _ splitAbove: Int64) -> Bool {
        strategy.copiesWholeBatches && Int64(header.recordsCount) <= splitAbove
            && (!provenance || header.compression == CompressionCodec.none)
    }

    // MARK: - placing

    private func block(of p: Int) -> Int { strategy == .sourcePartition ? p : 0 }

    /// The fast paths: the batch to the emptiest partition, its bytes as they
    /// are, or with the provenance header spliced into each record.
    private func placeWhole(_ batch: ScannedBatch, from p: Int) throws {
        let header = batch.header
        let b = block(of: p)
        let q = spread.emptiest(block: b)
        let lane = lanes[q]
        translation?.observe(p, firstOffset: header.baseOffset, lastOffset: header.lastOffset, target: q, at: lane.end)
        let start = lane.pending.count
        if provenance {
            do {
                try ProvenanceSplice.append(
                    batch.bytes, header: header, provenance: provenanceHeaders[p], scratch: headers, to: lane.pending)
            } catch {
                lane.pending.truncate(to: start)
                throw SluiceError.failure(
                    .corruptLog,
                    "a batch of partition \(source.name)-\(p) at offset \(header.baseOffset) holds an impossible record: \(error)",
                    remedy: "run 'sluice verify \(source.name)'")
            }
        } else {
            lane.pending.append(batch.bytes)
        }
        try lane.commitBatch(at: start)
        spread.addToEmptiest(Int64(header.recordsCount), block: b)
        lane.records += Int64(header.recordsCount)
        placed += Int64(header.recordsCount)
    }

    /// Decodes a batch and places its records in `range`, re-encoded.
    private func placeRecords(of batch: ScannedBatch, from p: Int, in range: Range<Int64>, splitAbove: Int64, reader: PartitionReader)
        throws
    {
        let compressed = batch.header.compression != CompressionCodec.none
        let codec = targetConfig.codec(requested: compressed ? .zstd : CompressionCodec.none)
        var records = try reader.records(of: batch, with: decoder)
        while let record = try records.next(), record.offset < range.upperBound {
            guard record.offset >= range.lowerBound else { continue }
            try placeRecord(record, from: p, codec: codec, splitAbove: splitAbove)
        }
        try closePiece(from: p)
    }

    /// Places one record: by its key, or into the open piece of the spreading
    /// strategies (at most `splitAbove` records, all to the partition that was
    /// emptiest when the piece opened).
    private func placeRecord(_ record: Record, from p: Int, codec: CompressionCodec, splitAbove: Int64) throws {
        placed += 1
        if strategy == .key { return try placeByKey(record, from: p, codec: codec) }
        if openPiece == nil { openPiece = (spread.emptiest(block: block(of: p)), pieceBuilder(codec)) }
        let (q, builder) = openPiece!
        translation?.observe(
            p, firstOffset: record.offset, lastOffset: record.offset, target: q, at: lanes[q].end + Int64(builder.recordCount))
        append(record, from: p, to: builder)
        if Int64(builder.recordCount) >= splitAbove { try closePiece(from: p) }
    }

    /// Writes the open piece as one batch to its partition.
    private func closePiece(from p: Int) throws {
        guard let (q, builder) = openPiece else { return }
        openPiece = nil
        let lane = lanes[q]
        let count = Int64(builder.recordCount)
        let start = lane.pending.count
        try builder.finish(baseOffset: 0, into: lane.pending)
        try lane.commitBatch(at: start)
        spread.addToEmptiest(count, block: block(of: p))
        lane.records += count
    }

    private func placeByKey(_ record: Record, from p: Int, codec: CompressionCodec) throws {
        let q: Int
        if let key = record.key {
            q = KafkaPartitioner.partition(forKey: key, partitions: lanes.count)
        } else {
            q = unkeyedNext
            unkeyedNext = (unkeyedNext + 1) % lanes.count
        }
        let lane = lanes[q]
        if let open = lane.builder, open.codec != codec {
            try lane.closeBatch()
            lane.builder = nil
        }
        if lane.builder == nil { lane.builder = RecordBatchBuilder(codec: codec) }
        let builder = lane.builder!
        translation?.observe(p, firstOffset: record.offset, lastOffset: record.offset, target: q, at: lane.end + Int64(builder.recordCount))
        append(record, from: p, to: builder)
        lane.records += 1
        if builder.uncompressedSize >= Self.keyBatchBytes { try lane.closeBatch() }
    }

    @inline(__always)
    private func append(_ record: Record, from p: Int, to builder: RecordBatchBuilder) {
        guard provenance else {
            builder.append(
                timestamp: record.timestamp, key: record.key, value: record.value,
                headerCount: record.headerCount, encodedHeaders: record.encodedHeaders)
            return
        }
        headers.clear()
        headers.append(record.encodedHeaders)
        provenanceHeaders[p].append(offset: record.offset, to: headers)
        builder.append(
            timestamp: record.timestamp, key: record.key, value: record.value,
            headerCount: record.headerCount + 1, encodedHeaders: headers.bytes)
    }

    private func pieceBuilder(_ codec: CompressionCodec) -> RecordBatchBuilder {
        if let builder = pieceBuilders[codec] { return builder }
        let builder = RecordBatchBuilder(codec: codec)
        pieceBuilders[codec] = builder
        return builder
    }
}
