import KafkaFormat
import SluiceCompression
import SluiceCore
import SluiceStorage
import SluiceSystem

/// How far an export or import has got, for progress lines.
public struct ArchiveProgress: Sendable {
    /// Uncompressed archive bytes processed so far.
    public var bytes: Int64 = 0
    /// Uncompressed bytes expected in all (known from the plan or the manifest).
    public var totalBytes: Int64?
    public var records: Int64 = 0

    public init() {}
}

/// What an export wrote.
public struct ExportResult: Sendable {
    public let manifest: ArchiveManifest
    public let summary: ArchiveSummary
    /// Uncompressed tar bytes.
    public let tarBytes: Int64
    /// Compressed bytes written.
    public let archiveBytes: Int64
}

/// Writes a plan as a sluice archive (see `ArchiveManifest` for the layout):
/// one pass over the source, each batch CRC-checked as it is read and copied
/// as its exact bytes into a tar stream compressed by libzstd's worker
/// threads. Memory stays bounded by the read buffer and zstd's windows.
public final class ArchiveExporter {
    public struct Options: Sendable {
        public var level: Int32 = Zstd.defaultLevel
        /// zstd worker threads (1: compress on the calling thread).
        public var threads = 1
        /// "sluice <version>", recorded in the manifest.
        public var tool = "sluice"
        public init() {}
    }

    public let plan: ExportPlan
    private let options: Options
    private let cutter = BatchCutter()
    private let legacyDecoder = BatchDecoder()
    private let cutBytes = ByteBuffer()
    private let readBuffer = ByteBuffer(capacity: 1 << 20)
    private var progress = ArchiveProgress()
    private var lastReport: Int64 = 0

    public init(plan: ExportPlan, options: Options) {
        self.plan = plan
        self.options = options
        progress.totalBytes = plan.bytes
    }

    /// The manifest this export writes first.
    public func manifest(created: Int64 = WallClock.nowMillis()) -> ArchiveManifest {
        let topic = plan.topic
        return ArchiveManifest(
            tool: options.tool, archiveID: String(UInt64.random(in: 0...UInt64.max), radix: 36), created: created,
            topic: topic.name, topicID: topic.metadata.id, partitionCount: topic.partitionCount, config: topic.config.entries,
            filters: plan.filters,
            partitions: plan.partitions.map { p in
                ArchivedPartition(
                    partition: p.partition.index, startOffset: p.startOffset, endOffset: p.endOffset,
                    files: p.pieces.map { ArchivedFile(name: fileName(p, $0), baseOffset: $0.baseOffset, bytes: $0.bytes) })
            },
            groups: plan.groups)
    }

    /// Streams the archive to `sink` (compressed bytes), reporting progress
    /// about every MiB.
    public func write(
        to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
        progress report: ((ArchiveProgress) -> Void)? = nil
    ) throws -> ExportResult {
        var archiveBytes: Int64 = 0
        let encoder = try ZstdStreamEncoder(level: options.level, threads: options.threads) { bytes in
            archiveBytes += Int64(bytes.count)
            try sink(bytes)
        }
        let tar = TarWriter { try encoder.write($0) }
        let manifest = self.manifest()
        let mtime = manifest.created / 1000
        let manifestBytes = manifest.bytes
        guard manifestBytes.count <= ArchiveManifest.maxDocumentBytes else {
            throw SluiceError.usage(
                .invalidArgument,
                "the export would list \(plan.partitions.reduce(0) { $0 + $1.files }) files, too many for one archive's manifest",
                remedy: "export fewer partitions per archive")
        }
        try tar.file(ArchiveManifest.manifestName, manifestBytes, mtime: mtime)
        var partitions: [(partition: Int, files: [FileStats])] = []
        for partition in plan.partitions {
            var files: [FileStats] = []
            for piece in partition.pieces {
                files.append(try write(piece, of: partition, to: tar, mtime: mtime, report: report))
            }
            partitions.append((partition.partition.index, files))
        }
        let summary = ArchiveSummary(archiveID: manifest.archiveID, manifestCRC32C: CRC32C.checksum(manifestBytes), partitions: partitions)
        try tar.file(ArchiveManifest.summaryName, summary.bytesEncoded, mtime: mtime)
        try tar.finish()
        try encoder.finish()
        report?(progress)
        return ExportResult(manifest: manifest, summary: summary, tarBytes: tar.bytesWritten, archiveBytes: archiveBytes)
    }

    /// The messages in a legacy entry: one, or those of a compressed message set.
    private func records(of legacy: LegacyMessage, _ partition: Partition, _ segment: Segment) throws -> Int64 {
        do {
            return Int64(try legacyDecoder.messages(of: legacy).count)
        } catch {
            throw SluiceError.checkFailed(
                .corruptLog,
                """
                corrupt log in partition \(partition.name), segment \(segment.logName): \
                the legacy message set at offset \(legacy.offset) does not expand: \(error)
                """,
                remedy: "run 'sluice verify \(partition.topic)'")
        }
    }

    private func fileName(_ partition: PartitionPlan, _ piece: FilePiece) -> String {
        ArchiveManifest.fileName(topic: plan.topic.name, partition: partition.partition.index, baseOffset: piece.baseOffset)
    }

    private func write(
        _ piece: FilePiece, of plan: PartitionPlan, to tar: TarWriter, mtime: Int64,
        report: ((ArchiveProgress) -> Void)?
    ) throws -> FileStats {
        var stats = FileStats(name: fileName(plan, piece))
        try tar.beginFile(stats.name, size: piece.bytes, mtime: mtime)
        let segments = try plan.partition.segments()
        func copy(_ bytes: UnsafeRawBufferPointer, _ header: RecordBatchHeader?, legacy: LegacyMessage?) throws {
            let before = stats.records
            if let header {
                stats.observe(header)
            } else if let legacy {
                let timestamp = legacy.timestamp ?? -1
                stats.observe(
                    baseOffset: legacy.offset, lastOffset: legacy.offset, records: try records(of: legacy, plan.partition, piece.segment),
                    firstTimestamp: timestamp, maxTimestamp: timestamp)
            }
            progress.records += stats.records - before
            stats.checksum(bytes)
            try tar.write(bytes)
            progress.bytes += Int64(bytes.count)
            if progress.bytes - lastReport >= 1 << 20 {
                lastReport = progress.bytes
                report?(progress)
                if Interruption.requested {
                    throw SluiceError.failure(
                        .interrupted, "export interrupted by \(Interruption.signalName); no archive was written",
                        remedy: "run the export again")
                }
            }
        }
        func cut(_ batch: CutBatch) throws {
            cutBytes.clear()
            guard try cutter.encode(plan.partition, segments, piece.segment, keep: batch.keep, into: cutBytes),
                cutBytes.count == batch.encodedSize
            else {
                throw SluiceError.failure(
                    .io, "partition \(plan.partition.name) changed while being exported (the batch at offset \(batch.keep.lowerBound))",
                    remedy: "export again")
            }
            try copy(cutBytes.bytes, RecordBatchHeader(cutBytes.base), legacy: nil)
        }
        if let head = piece.head { try cut(head) }
        if !piece.raw.isEmpty {
            let log = try File.open(piece.segment.logPath)
            log.adviseSequential()
            let scanner = SegmentScanner(file: log, limit: piece.raw.upperBound, from: piece.raw.lowerBound, buffer: readBuffer)
            scan: while true {
                switch try scanner.next() {
                case .batch(let batch): try copy(batch.bytes, batch.header, legacy: nil)
                case .legacy(let legacy): try copy(legacy.bytes, nil, legacy: legacy.message)
                case .problem(let problem): throw SluiceError.corruption(plan.partition.name, piece.segment, problem)
                case .end: break scan
                }
            }
        }
        if let tail = piece.tail { try cut(tail) }
        guard stats.bytes == piece.bytes else {
            throw SluiceError.failure(.io, "\(piece.segment.logPath) changed while being exported", remedy: "export again")
        }
        try tar.endFile()
        return stats
    }
}
