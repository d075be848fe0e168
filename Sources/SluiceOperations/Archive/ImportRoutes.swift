import KafkaFormat
import SluiceCore
import SluiceStorage

/// One destination partition of an import: the offsets it gets and, unless
/// it is a dry run, the segments staged for it.
final class Destination {
    let partition: Int
    let firstOffset: Int64
    private(set) var nextOffset: Int64
    private(set) var records: Int64 = 0
    private var builder: SegmentBuilder?
    private(set) var segments: [Segment] = []

    init(partition: Int, firstOffset: Int64, builder: SegmentBuilder?) {
        self.partition = partition
        self.firstOffset = firstOffset
        self.nextOffset = firstOffset
        self.builder = builder
    }

    /// Starts a segment at an archived file's base offset (offsets kept).
    func startSegment(_ baseOffset: Int64) throws {
        try builder?.startSegment(baseOffset: baseOffset)
        nextOffset = max(nextOffset, baseOffset)
    }

    func begin(_ first: UnsafeRawBufferPointer, _ info: EntryInfo, reoffset: Bool) throws {
        let base = reoffset ? nextOffset : info.baseOffset
        try builder?.begin(header: first, lastOffsetDelta: info.lastOffsetDelta, maxTimestamp: info.maxTimestamp, totalSize: info.totalSize)
        nextOffset = base + Int64(info.lastOffsetDelta) + 1
        records += info.records
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws { try builder?.append(bytes) }

    func appendBatch(_ batch: UnsafeRawBufferPointer) throws {
        let header = RecordBatchHeader(batch.baseAddress!)
        try begin(
            UnsafeRawBufferPointer(rebasing: batch[..<RecordBatchHeader.size]),
            EntryInfo(
                baseOffset: 0, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: header.maxTimestamp,
                totalSize: header.totalSize, records: Int64(header.recordsCount), header: header), reoffset: true)
        try append(UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size...]))
    }

    /// Makes the staged files durable and lets go of their buffers.
    func finish() throws {
        guard let builder else { return }
        segments = try builder.finish()
        self.builder = nil
    }

    var staged: StagedPartition {
        StagedPartition(partition: partition, segments: segments, firstOffset: firstOffset, nextOffset: nextOffset)
    }
}

/// Where an import sends the entries the reader has verified.
protocol ImportRoute: AnyObject {
    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws
    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws
    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws
    func endEntry() throws
    /// Finishes every destination and returns them by partition.
    func finish() throws -> [Destination]
}

/// `--preserve-offsets` into a new topic: each archived file becomes a
/// segment of the same partition at the same offsets; partitions the
/// archive does not cover start empty.
final class PreservingRoute: ImportRoute {
    private let partitionCount: Int
    private let manifest: ArchiveManifest
    private let makeBuilder: (Int) throws -> SegmentBuilder?
    private var done: [Int: Destination] = [:]
    private var current: Destination?

    init(manifest: ArchiveManifest, makeBuilder: @escaping (Int) throws -> SegmentBuilder?) {
        self.manifest = manifest
        self.partitionCount = manifest.partitionCount
        self.makeBuilder = makeBuilder
    }

    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws {
        if current?.partition != partition.partition {
            try finishCurrent()
            current = Destination(
                partition: partition.partition, firstOffset: partition.startOffset, builder: try makeBuilder(partition.partition))
        }
        try current!.startSegment(file.baseOffset)
    }

    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws { try current!.begin(first, info, reoffset: false) }
    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws { try current!.append(bytes) }
    func endEntry() throws {}

    func finish() throws -> [Destination] {
        try finishCurrent()
        for p in 0..<partitionCount where done[p] == nil {
            let start = manifest.partitions.first { $0.partition == p }?.startOffset ?? 0
            let empty = Destination(partition: p, firstOffset: start, builder: try makeBuilder(p))
            try empty.startSegment(start)
            try empty.finish()
            done[p] = empty
        }
        return done.keys.sorted().map { done[$0]! }
    }

    private func finishCurrent() throws {
        guard let current else { return }
        try current.finish()
        done[current.partition] = current
        self.current = nil
    }
}

/// `--append` into a topic with the same partition count: each archived
/// partition's batches go to the same partition, re-offset after its end,
/// byte for byte otherwise.
final class CopyingRoute: ImportRoute {
    private let makeDestination: (Int) throws -> Destination
    private var done: [Destination] = []
    private var current: Destination?

    init(makeDestination: @escaping (Int) throws -> Destination) {
        self.makeDestination = makeDestination
    }

    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws {
        guard current?.partition != partition.partition else { return }
        if let current {
            try current.finish()
            done.append(current)
        }
        current = try makeDestination(partition.partition)
    }

    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws { try current!.begin(first, info, reoffset: true) }
    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws { try current!.append(bytes) }
    func endEntry() throws {}

    func finish() throws -> [Destination] {
        if let current {
            try current.finish()
            done.append(current)
        }
        current = nil
        return done
    }
}

/// `--append` into a topic with a different partition count: records are
/// decoded and sent where Kafka's producer would send them — a keyed record
/// to `murmur2(key) % partitions`, unkeyed records round-robin, one each in
/// turn — and re-batched per destination (16 KiB batches, each record's
/// timestamp kept as its create time, the source batch's codec kept when
/// sluice writes it, zstd otherwise).
/// Control batches (transaction markers) are dropped: they belong to the
/// source partitions' transactions. Each batch is decoded whole, so batches
/// over `maxBatchBytes` are refused.
final class RepartitioningRoute: ImportRoute {
    static let maxBatchBytes = 64 << 20
    static let batchBytes = 16 << 10

    private final class Lane {
        let destination: Destination
        var builders: [CompressionCodec: RecordBatchBuilder] = [:]
        var openCodec: CompressionCodec?
        init(_ destination: Destination) { self.destination = destination }
    }

    private let partitions: Int
    private let makeDestination: (Int) throws -> Destination
    private var lanes: [Lane?]
    private var nextUnkeyed = 0
    private let batch = ByteBuffer(capacity: 1 << 16)
    private var legacy = false
    private let decoder = BatchDecoder()
    private let encoded = ByteBuffer(capacity: 1 << 16)
    private var file = ""

    init(partitions: Int, makeDestination: @escaping (Int) throws -> Destination) {
        self.partitions = partitions
        self.makeDestination = makeDestination
        lanes = Array(repeating: nil, count: partitions)
    }

    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws { self.file = file.name }

    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws {
        guard info.totalSize <= Self.maxBatchBytes else {
            throw SluiceError.failure(
                .invalidArgument,
                """
                \(file) holds a batch of \(info.totalSize) bytes at offset \(info.baseOffset); \
                re-partitioning decodes batches of up to \(Self.maxBatchBytes) bytes
                """,
                remedy: "import into a topic with the archive's partition count, which copies batches without decoding them")
        }
        batch.clear()
        batch.append(first)
        legacy = info.header == nil
    }

    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws { batch.append(bytes) }

    func endEntry() throws {
        if legacy {
            // Checked by the reader, which also expanded it once.
            let message = try LegacyMessage.parse(batch.bytes)
            for inner in try decoder.messages(of: message) { try send(inner.record, codec: .writable(message.compression)) }
            return
        }
        let header = RecordBatchHeader(batch.base)
        guard !header.isControl else { return }
        do {
            var records = try decoder.records(of: batch.bytes, header: header)
            while let record = try records.next() { try send(record, codec: .writable(header.compression ?? .none)) }
        } catch let error as FormatError {
            throw SluiceError.checkFailed(
                .corruptArchive, "the batch at offset \(header.baseOffset) of \(file) has invalid records: \(error)")
        }
    }

    private func send(_ record: Record, codec: CompressionCodec) throws {
        let p: Int
        if let key = record.key {
            p = KafkaPartitioner.partition(forKey: key, partitions: partitions)
        } else {
            p = nextUnkeyed
            nextUnkeyed = (nextUnkeyed + 1) % partitions
        }
        let lane = try self.lane(p)
        if let open = lane.openCodec, open != codec { try close(lane) }
        let builder = lane.builders[codec] ?? RecordBatchBuilder(codec: codec)
        lane.builders[codec] = builder
        lane.openCodec = codec
        builder.append(
            timestamp: record.timestamp, key: record.key, value: record.value,
            headerCount: record.headerCount, encodedHeaders: record.encodedHeaders)
        if builder.uncompressedSize >= Self.batchBytes { try close(lane) }
    }

    private func lane(_ p: Int) throws -> Lane {
        if let lane = lanes[p] { return lane }
        let lane = Lane(try makeDestination(p))
        lanes[p] = lane
        return lane
    }

    private func close(_ lane: Lane) throws {
        guard let codec = lane.openCodec, let builder = lane.builders[codec], !builder.isEmpty else { return }
        encoded.clear()
        try builder.finish(baseOffset: 0, into: encoded)
        try lane.destination.appendBatch(encoded.bytes)
        lane.openCodec = nil
    }

    func finish() throws -> [Destination] {
        var destinations: [Destination] = []
        for case let lane? in lanes {
            try close(lane)
            try lane.destination.finish()
            destinations.append(lane.destination)
        }
        return destinations
    }
}
