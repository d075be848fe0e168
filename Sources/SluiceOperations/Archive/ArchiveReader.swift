import KafkaFormat
import SluiceCompression
import SluiceCore
import SluiceSystem

/// The first bytes of one entry of a segment file, as `ArchiveReader` hands it on.
struct EntryInfo {
    let baseOffset: Int64
    let lastOffsetDelta: Int32
    let maxTimestamp: Int64
    let totalSize: Int
    /// Records in the entry (a compressed legacy message set holds several).
    let records: Int64
    /// nil for a legacy (magic 0/1) message.
    let header: RecordBatchHeader?
}

/// Receives an archive's content from `ArchiveReader` as it streams, each
/// entry already framed and bounded (its CRC is confirmed by `endEntry`).
protocol ArchiveSink: AnyObject {
    func begin(_ manifest: ArchiveManifest) throws
    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws
    /// A batch's 61-byte header (its other bytes follow through `entryBytes`), or a whole legacy entry.
    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws
    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws
    func endEntry() throws
    func endFile() throws
}

/// Reads an archive from a file or a pipe: decompresses and unpacks it as it
/// streams, and checks everything on the way, so a reader never trusts what
/// it has not checked:
///
///  - the zstd stream decodes and its content checksum matches; the tar
///    headers' checksums match and no entry is a link, device, absolute path
///    or `..` path (`TarReader`);
///  - the first entry is a manifest of a format version this sluice reads,
///    whose partitions, ranges and files are consistent; then exactly the
///    files it lists, in order and of the sizes it gives; then the summary;
///  - every entry of every file is framed within the file, every batch's
///    CRC-32C (and every legacy message's CRC-32) matches, and offsets only
///    grow and stay inside the partition's range;
///  - the summary belongs to this manifest (its CRC-32C) and every file's
///    measured checksum, counts, offsets and timestamps match it.
///
/// Memory is bounded whatever the archive says: data streams through, and
/// the only things gathered are the manifest and summary (at most 16 MiB
/// each), tar metadata (64 KiB), a batch header and legacy messages (16 MiB).
final class ArchiveReader {
    static let maxLegacyEntry = 16 << 20

    let name: String
    private weak var sink: ArchiveSink?
    private let tar = TarReader()
    private var phase = Phase.expectManifest
    private let gathered = ByteBuffer(capacity: 64 << 10)
    private(set) var manifest: ArchiveManifest?
    private var manifestBytes: [UInt8] = []
    private var summary: ArchiveSummary?
    private var files: [(partition: ArchivedPartition, file: ArchivedFile)] = []
    private var fileIndex = 0
    private var measured: [Int: [FileStats]] = [:]
    private let decoder = BatchDecoder()
    private lazy var framer = EntryFramer(decoder: decoder)
    private(set) var progress = ArchiveProgress()
    private var report: ((ArchiveProgress) -> Void)?
    private var lastReport: Int64 = 0

    private enum Phase { case expectManifest, manifest, expectFile, file, summary, done }

    init(name: String, sink: ArchiveSink?) {
        self.name = name
        self.sink = sink
        tar.onEntry = { [unowned self] in try self.entry($0) }
        tar.onData = { [unowned self] in try self.data($0) }
        tar.onEntryEnd = { [unowned self] in try self.entryEnd() }
    }

    /// Reads all of `input`; returns the manifest and the verified summary.
    func read(_ input: File, progress report: ((ArchiveProgress) -> Void)? = nil) throws -> (ArchiveManifest, ArchiveSummary) {
        self.report = report
        do {
            return try readStream(input)
        } catch let damage as ArchiveDamage {
            throw SluiceError.checkFailed(.corruptArchive, "archive \(name) is damaged: \(damage)")
        } catch let error as SluiceError where error.reason == .corruptCompressedData {
            throw SluiceError.checkFailed(
                .corruptArchive,
                "archive \(name) is damaged: \(error.message) in its bytes \(chunkRead.lowerBound)..<\(chunkRead.upperBound)")
        }
    }

    /// Where in the archive the chunk being decompressed was read from (zstd names no finer place).
    private var chunkRead: Range<Int64> = 0..<0

    private func readStream(_ input: File) throws -> (ArchiveManifest, ArchiveSummary) {
        let decoder = ZstdStreamDecoder()
        let buffer = ByteBuffer(capacity: 1 << 20)
        var prefix: [UInt8] = []
        while true {
            if Interruption.requested {
                throw SluiceError.failure(.interrupted, "interrupted by \(Interruption.signalName) while reading archive \(name)")
            }
            guard let n = try input.readUnlessInterrupted(into: UnsafeMutableRawBufferPointer(start: buffer.base, count: buffer.capacity))
            else { continue }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(start: buffer.base, count: n)
            chunkRead = chunkRead.upperBound..<chunkRead.upperBound + Int64(n)
            if prefix.count < Zstd.frameMagic.count {
                prefix += chunk.prefix(Zstd.frameMagic.count - prefix.count)
                if prefix.count == Zstd.frameMagic.count { try checkMagic(prefix, chunk) }
            }
            try decoder.feed(chunk, sink: consume)
        }
        if prefix.isEmpty { throw SluiceError.checkFailed(.corruptArchive, "archive \(name) is empty") }
        if prefix.count < Zstd.frameMagic.count { throw ArchiveDamage("it is \(prefix.count) bytes long, too short for a zstd stream") }
        do {
            try decoder.finish()
        } catch let error as SluiceError where error.reason == .corruptCompressedData {
            throw SluiceError.checkFailed(
                .corruptArchive, "archive \(name) is truncated: \(error.message)",
                remedy: "the copy or the pipe was cut short; copy the archive again")
        }
        try tar.finish()
        guard phase == .done, let manifest, let summary else {
            throw SluiceError.checkFailed(
                .corruptArchive, "archive \(name) is truncated: it ends before its summary.json",
                remedy: "the copy was cut short; copy the archive again")
        }
        report?(progress)
        return (manifest, summary)
    }

    private func checkMagic(_ prefix: [UInt8], _ chunk: UnsafeRawBufferPointer) throws {
        guard prefix != Zstd.frameMagic else { return }
        if chunk.count >= 263, Array(chunk[257..<262]) == Array("ustar".utf8) {
            throw ArchiveDamage("it is a plain tar file, not zstd-compressed (a sluice archive is a .tar.zst)")
        }
        throw ArchiveDamage("it is not zstd-compressed (a sluice archive is a .tar.zst file from 'sluice export')")
    }

    private func consume(_ plain: UnsafeRawBufferPointer) throws {
        try tar.consume(plain)
        progress.bytes += Int64(plain.count)
        if let report, progress.bytes - lastReport >= 1 << 20 {
            lastReport = progress.bytes
            report(progress)
        }
    }

    // MARK: - entries

    private func entry(_ entry: TarEntry) throws {
        switch phase {
        case .expectManifest:
            guard entry.name == ArchiveManifest.manifestName else {
                throw ArchiveDamage("its first entry is '\(entry.name.printable)', not \(ArchiveManifest.manifestName)")
            }
            try startDocument(entry, .manifest)
        case .expectFile:
            guard fileIndex < files.count else {
                guard entry.name == ArchiveManifest.summaryName else {
                    throw ArchiveDamage("entry '\(entry.name.printable)' is not listed in manifest.json")
                }
                try startDocument(entry, .summary)
                return
            }
            let (partition, file) = files[fileIndex]
            guard entry.name == file.name else {
                if entry.name == ArchiveManifest.summaryName || !files.contains(where: { $0.file.name == entry.name }) {
                    throw ArchiveDamage(
                        entry.name == ArchiveManifest.summaryName
                            ? "file '\(file.name)' listed in manifest.json is missing"
                            : "entry '\(entry.name.printable)' is not listed in manifest.json")
                }
                throw ArchiveDamage("entry '\(entry.name.printable)' comes where manifest.json lists '\(file.name)'")
            }
            guard entry.size == file.bytes else {
                throw ArchiveDamage("entry '\(file.name)' holds \(entry.size) bytes but manifest.json says \(file.bytes)")
            }
            framer = EntryFramer(
                partition: partition, file: file, decoder: decoder,
                expectedOffset: framer.partition?.partition == partition.partition ? framer.expectedOffset : partition.startOffset)
            phase = .file
            try sink?.beginFile(file, of: partition)
        case .done:
            throw ArchiveDamage("entry '\(entry.name.printable)' follows summary.json")
        case .manifest, .file, .summary:
            preconditionFailure("an entry starts inside another")
        }
    }

    private func startDocument(_ entry: TarEntry, _ next: Phase) throws {
        guard entry.size <= ArchiveManifest.maxDocumentBytes else {
            throw ArchiveDamage("\(entry.name) declares \(entry.size) bytes, more than the \(ArchiveManifest.maxDocumentBytes)-byte limit")
        }
        gathered.clear()
        phase = next
    }

    private func data(_ bytes: UnsafeRawBufferPointer) throws {
        switch phase {
        case .manifest, .summary:
            gathered.append(bytes)
        case .file:
            try framer.feed(bytes, sink: sink)
        default:
            preconditionFailure("data outside an entry")
        }
    }

    private func entryEnd() throws {
        switch phase {
        case .manifest:
            manifestBytes = gathered.array
            let manifest = try ArchiveManifest.decode(manifestBytes)
            self.manifest = manifest
            files = manifest.partitions.flatMap { p in p.files.map { (p, $0) } }
            progress.totalBytes = progress.bytes + manifest.totalBytes
            try sink?.begin(manifest)
            phase = .expectFile
        case .file:
            let stats = try framer.finish()
            measured[framer.partition!.partition, default: []].append(stats)
            progress.records += stats.records
            try sink?.endFile()
            fileIndex += 1
            phase = .expectFile
        case .summary:
            let summary = try ArchiveSummary.decode(gathered.array)
            try verify(summary)
            self.summary = summary
            phase = .done
        case .expectManifest:
            throw ArchiveDamage("its first entry is empty")
        case .expectFile, .done:
            preconditionFailure("an entry ends that never started")
        }
    }

    /// Compares the summary with the manifest and with what was measured.
    private func verify(_ summary: ArchiveSummary) throws {
        guard let manifest else { return }
        guard summary.archiveID == manifest.archiveID, summary.manifestCRC32C == CRC32C.checksum(manifestBytes) else {
            throw ArchiveDamage(
                "summary.json does not belong to this manifest.json (the manifest was changed, or the entries come from different archives)"
            )
        }
        guard summary.partitions.map(\.partition) == manifest.partitions.map(\.partition) else {
            throw ArchiveDamage(
                """
                summary.json lists partitions \(summary.partitions.map(\.partition)) \
                but manifest.json lists \(manifest.partitions.map(\.partition))
                """
            )
        }
        for (partition, claimed) in summary.partitions {
            let actual = measured[partition] ?? []
            guard claimed.count == actual.count else {
                throw ArchiveDamage(
                    "summary.json lists \(claimed.count) files for partition \(partition) but the archive holds \(actual.count)")
            }
            for (c, a) in zip(claimed, actual) where c != a {
                throw ArchiveDamage("summary.json says \(c.name) has \(Self.describe(c)), but it has \(Self.describe(a))")
            }
        }
    }

    private static func describe(_ s: FileStats) -> String {
        """
        \(s.bytes) bytes with CRC-32C \(ArchiveSummary.hex(s.crc32c)), \(s.batches) batches, \(s.records) \
        records, offsets \(s.firstOffset.map(String.init) ?? "-") to \(s.lastOffset.map(String.init) ?? "-"), \
        timestamps \(s.minTimestamp.map(String.init) ?? "-") to \(s.maxTimestamp.map(String.init) ?? "-")
        """
    }
}

/// Frames the entries of one archived segment file as its bytes stream past:
/// gathers each entry's frame and header, checks sizes against what is left
/// of the file and offsets against the partition's range, and carries the
/// CRC-32C across the pieces of a batch's body, so a batch of any size
/// streams through without being held whole.
struct EntryFramer {
    private(set) var partition: ArchivedPartition?
    private var file: ArchivedFile?
    /// The lowest offset the next entry may have.
    private(set) var expectedOffset: Int64 = 0
    private var stats = FileStats(name: "")
    private var position: Int64 = 0
    private var entryStart: Int64 = 0
    private let head = ByteBuffer(capacity: 128)
    private var state = State.frame
    private var crc: UInt32 = 0
    private var header = RecordBatchHeader()
    /// Expands compressed legacy message sets, to count their records.
    private let decoder: BatchDecoder

    private enum State {
        /// Gathering the 17 bytes that frame an entry (offset, size, epoch or crc, magic).
        case frame
        /// Gathering a v2 header, or a whole legacy entry, of this many bytes.
        case gather(Int, legacy: Bool)
        case body(remaining: Int)
    }

    static let frameBytes = RecordBatchHeader.magicOffset + 1

    init(decoder: BatchDecoder) { self.decoder = decoder }

    init(partition: ArchivedPartition, file: ArchivedFile, decoder: BatchDecoder, expectedOffset: Int64) {
        self.decoder = decoder
        self.partition = partition
        self.file = file
        self.expectedOffset = max(expectedOffset, file.baseOffset)
        stats = FileStats(name: file.name)
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, sink: ArchiveSink?) throws {
        stats.checksum(bytes)
        var at = 0
        while at < bytes.count {
            switch state {
            case .frame, .gather:
                let needed: Int
                if case .gather(let total, _) = state { needed = total } else { needed = Self.frameBytes }
                if head.isEmpty { entryStart = position + Int64(at) }
                let take = min(needed - head.count, bytes.count - at)
                head.append(UnsafeRawBufferPointer(rebasing: bytes[at..<at + take]))
                at += take
                if head.count == needed { try headComplete(sink) }
            case .body(let remaining):
                let take = min(remaining, bytes.count - at)
                let piece = UnsafeRawBufferPointer(rebasing: bytes[at..<at + take])
                crc = CRC32C.update(crc, piece.baseAddress!, count: take)
                try sink?.entryBytes(piece)
                at += take
                if take == remaining {
                    try batchComplete(sink)
                } else {
                    state = .body(remaining: remaining - take)
                }
            }
        }
        position += Int64(bytes.count)
    }

    mutating func finish() throws -> FileStats {
        guard case .frame = state, head.isEmpty else {
            throw ArchiveDamage("\(file!.name) ends inside the entry at byte \(entryStart)")
        }
        return stats
    }

    private var here: String { "the entry at byte \(entryStart) of \(file!.name)" }

    private mutating func headComplete(_ sink: ArchiveSink?) throws {
        switch state {
        case .frame:
            let remaining = file!.bytes - entryStart
            switch LogEntryFrame.inspect(head.bytes, at: 0) {
            case .invalid(let why):
                throw ArchiveDamage("\(here) is invalid: \(why)")
            case .incomplete(let size), .batch(let size), .legacy(let size, _):
                guard Int64(size) <= remaining else {
                    throw ArchiveDamage("\(here) declares \(size) bytes but only \(remaining) remain in the file")
                }
                let legacy = head.bytes.loadBigEndian(at: RecordBatchHeader.magicOffset, as: Int8.self) != 2
                if legacy && size > ArchiveReader.maxLegacyEntry {
                    throw ArchiveDamage(
                        "\(here) is a legacy message of \(size) bytes, more than the \(ArchiveReader.maxLegacyEntry)-byte limit")
                }
                state = .gather(legacy ? size : RecordBatchHeader.size, legacy: legacy)
            }
        case .gather(_, legacy: false):
            header = RecordBatchHeader(head.base)
            guard header.recordsCount >= 0, header.lastOffsetDelta >= 0, header.compression != nil else {
                throw ArchiveDamage(
                    """
                    \(here) has an impossible batch header (record count \(header.recordsCount), \
                    last offset delta \(header.lastOffsetDelta), attributes \(header.attributes))
                    """
                )
            }
            try checkOffsets(header.baseOffset, delta: header.lastOffsetDelta)
            crc = CRC32C.update(
                0xFFFF_FFFF, head.base + RecordBatchHeader.attributesOffset,
                count: RecordBatchHeader.size - RecordBatchHeader.attributesOffset)
            try sink?.beginEntry(
                head.bytes,
                EntryInfo(
                    baseOffset: header.baseOffset, lastOffsetDelta: header.lastOffsetDelta,
                    maxTimestamp: header.maxTimestamp, totalSize: header.totalSize,
                    records: Int64(header.recordsCount), header: header))
            head.clear()
            if header.totalSize == RecordBatchHeader.size {
                try batchComplete(sink)
            } else {
                state = .body(remaining: header.totalSize - RecordBatchHeader.size)
            }
        case .gather(let size, legacy: true):
            let message: LegacyMessage
            let records: Int64
            do {
                message = try LegacyMessage.parse(head.bytes)
                records = Int64(try decoder.messages(of: message).count)
            } catch {
                throw ArchiveDamage("\(here) is an invalid legacy message: \(error)")
            }
            try checkOffsets(message.offset, delta: 0)
            let timestamp = message.timestamp ?? -1
            try sink?.beginEntry(
                head.bytes,
                EntryInfo(
                    baseOffset: message.offset, lastOffsetDelta: 0, maxTimestamp: timestamp,
                    totalSize: size, records: records, header: nil))
            try sink?.endEntry()
            stats.observe(
                baseOffset: message.offset, lastOffset: message.offset, records: records, firstTimestamp: timestamp, maxTimestamp: timestamp
            )
            expectedOffset = message.offset + 1
            head.clear()
            state = .frame
        case .body:
            preconditionFailure("no header in a body")
        }
    }

    private mutating func batchComplete(_ sink: ArchiveSink?) throws {
        let computed = ~crc
        guard computed == header.crc else {
            throw ArchiveDamage(
                """
                the batch at byte \(entryStart) of \(file!.name) (offset \(header.baseOffset)) fails \
                its CRC check: \(FormatError.checksumMismatch(stored: header.crc, computed: computed))
                """
            )
        }
        try sink?.endEntry()
        stats.observe(header)
        expectedOffset = header.nextOffset
        state = .frame
    }

    /// The entry's offsets must follow the previous entry's, stay inside the
    /// partition's range (which bounds them far below overflow) and within
    /// 2^31 of the file's base offset, as a segment's index needs.
    private func checkOffsets(_ first: Int64, delta: Int32) throws {
        let range = partition!
        guard first >= expectedOffset, first < range.endOffset, range.endOffset - first > Int64(delta) else {
            throw ArchiveDamage(
                """
                \(here) holds offsets from \(first), outside partition \(range.partition)'s \
                range \(expectedOffset)..<\(range.endOffset) in manifest.json
                """
            )
        }
        guard first + Int64(delta) - file!.baseOffset <= Int64(Int32.max) else {
            throw ArchiveDamage(
                "\(here) holds offset \(first + Int64(delta)), too far above its file's base offset \(file!.baseOffset) for one segment")
        }
    }
}

extension SluiceError.Reason {
    public static let corruptArchive = Self("corrupt-archive")
}
