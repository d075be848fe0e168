import KafkaFormat
import SluiceCore
import SluiceSystem

/// One thing `verify` found wrong, with the file and byte position.
public struct VerifyProblem: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case corruptEntry = "corrupt-entry"
        case tornTail = "torn-tail"
        case invalidRecords = "invalid-records"
        case offsetOverlap = "offset-overlap"
        case offsetGap = "offset-gap"
        case segmentName = "segment-name"
        case offsetIndex = "offset-index"
        case timeIndex = "time-index"
    }

    public let partition: String
    public let file: String
    public let position: Int64?
    public let offset: Int64?
    public let kind: Kind
    public let message: String

    public var description: String {
        var where_ = "\(partition) \(file)"
        if let position { where_ += " byte \(position)" }
        if let offset { where_ += " offset \(offset)" }
        return "\(where_): \(kind.rawValue): \(message)"
    }

    public var json: JSONValue {
        [
            "partition": .string(partition), "file": .string(file), "position": JSONValue(position), "offset": JSONValue(offset),
            "kind": .string(kind.rawValue), "message": .string(message),
        ]
    }
}

/// The outcome of checking one partition.
public struct PartitionCheck: Sendable {
    public let partition: Partition
    public var problems: [VerifyProblem] = []
    public var batches = 0
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    /// The first damage in the log: everything from here on is cut by `--repair`.
    public var cut: (segment: Segment, position: Int64)?
    /// Segments whose indexes disagree with their log.
    public var staleIndexes: [Segment] = []

    public var isClean: Bool { problems.isEmpty }
}

/// `sluice verify`: checks every batch's framing and CRC, decodes every
/// record, checks offset continuity within and across segments, and checks
/// both indexes against the log: exactly against a rebuild (Kafka's indexing
/// rule) for sluice's own partitions; semantically (every offset entry names a
/// batch start and its last offset; every time entry holds the running maximum
/// at its offset) for partitions a broker wrote. `repair` truncates at the
/// first damage, keeping the cut bytes, and rebuilds indexes.
public enum PartitionVerifier {
    /// The sizes of the last segment's three files, taken while holding the
    /// partition's lock (no writer is then between a batch and its index
    /// entries): the check stops there, so what writers append meanwhile is
    /// never mistaken for a torn tail or a stale index.
    struct TailSizes {
        let log: Int64
        let index: Int64
        let timeIndex: Int64

        init(_ segment: Segment) throws {
            log = try FileSystem.fileSize(segment.logPath) ?? 0
            index = try FileSystem.fileSize(segment.indexPath) ?? 0
            timeIndex = try FileSystem.fileSize(segment.timeIndexPath) ?? 0
        }
    }

    /// Checks one partition; `shouldStop` is polled between segments and
    /// ends the check with an `interrupted` error.
    public static func check(_ partition: Partition, strict: Bool, shouldStop: () -> Bool = { false }) throws -> PartitionCheck {
        guard partition.isWritable else {
            return try check(partition, strict: strict, segments: try partition.segments(), tail: nil, shouldStop: shouldStop)
        }
        _ = try partition.segments()
        let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
        let segments: [Segment], tail: TailSizes
        do {
            defer { lock.release() }
            segments = try partition.segments()
            tail = try TailSizes(segments.last!)
        }
        return try check(partition, strict: strict, segments: segments, tail: tail, shouldStop: shouldStop)
    }

    static func check(
        _ partition: Partition, strict: Bool, segments: [Segment], tail: TailSizes?,
        shouldStop: () -> Bool = { false }
    ) throws -> PartitionCheck {
        var result = PartitionCheck(partition: partition)
        // A sluice partition has no compacted gaps: its first batch starts at its first segment's base offset.
        var expected: Int64? = strict ? segments.first?.baseOffset : nil
        let buffer = ByteBuffer(capacity: 1 << 20)
        let decoder = BatchDecoder()
        for (i, segment) in segments.enumerated() {
            if shouldStop() {
                throw SluiceError.failure(
                    .interrupted, "checking partition \(partition.name) was interrupted at segment \(segment.logName)")
            }
            if let next = expected, segment.baseOffset < next || (strict && segment.baseOffset != next && result.cut == nil) {
                result.problems.append(
                    VerifyProblem(
                        partition: partition.name, file: segment.logName, position: nil, offset: segment.baseOffset,
                        kind: segment.baseOffset < next ? .offsetOverlap : .offsetGap,
                        message: "segment starts at offset \(segment.baseOffset) but the previous one ends at \(next)"))
            }
            let isLast = i == segments.count - 1
            let segmentCheck = SegmentCheck(
                partition: partition, segment: segment, isLast: isLast, strict: strict,
                limits: isLast ? tail : nil)
            try segmentCheck.run(buffer: buffer, decoder: decoder, expected: &expected, into: &result)
        }
        return result
    }

    /// Repairs what `check` found, holding the partition's lock: cuts the log
    /// at the first damage (the cut bytes and any later segments move to
    /// `sideDirectory`) and rebuilds the indexes of every affected segment.
    /// Returns a line per action.
    ///
    /// The offsets of what is cut off may have been acknowledged to a producer
    /// or consumed by a group, so they are never handed out again: the cut is
    /// followed by batches with no records (`appendOffsetGap`) up to the highest
    /// offset anything shows was used, from the index, the cut batches, the
    /// later segments and `committedEnd` (the caller's highest committed offset
    /// of any group on the partition).
    public static func repair(_ check: PartitionCheck, sideDirectory: String, committedEnd: Int64 = 0) throws -> [String] {
        let partition = check.partition
        guard partition.isWritable else {
            throw SluiceError.failure(
                .readOnly, "cannot repair \(partition.name): the directory is read-only (a Kafka broker's)",
                remedy: "export what is readable and import it into a sluice data directory")
        }
        let lock = try FileLock.acquire(partition.directory, what: "partition \(partition.name)", directory: true)
        defer { lock.release() }
        // Checked again under the lock: a cut found earlier may since have
        // been recovered by a writer and lie inside what it appended.
        let segmentsNow = try partition.segments()
        let check = try Self.check(partition, strict: true, segments: segmentsNow, tail: try TailSizes(segmentsNow.last!))
        var actions: [String] = []
        var rebuild = check.staleIndexes
        if let (segment, position) = check.cut {
            try FileSystem.makeDirectories(sideDirectory)
            let log = try File.open(segment.logPath, .readWrite)
            let size = try log.size()
            let kept = "\(sideDirectory)/\(segment.logName).from-byte-\(position)"
            try copy(log, from: position, count: size - position, to: kept)
            var usedEnd = committedEnd
            var moved = 0
            for later in try partition.segments() where later.baseOffset > segment.baseOffset {
                usedEnd = max(
                    usedEnd,
                    try offsetsUsed(
                        in: later, indexedFrom: 0, entries: try File.open(later.logPath),
                        startingAt: later.baseOffset))
                try FileSystem.rename(later.logPath, to: "\(sideDirectory)/\(later.logName)")
                try FileSystem.removeFile(later.indexPath)
                try FileSystem.removeFile(later.timeIndexPath)
                moved += 1
            }
            try FileSystem.syncDirectory(sideDirectory)
            try FileSystem.syncDirectory(partition.directory)
            try log.truncate(to: position)
            let keptTail = try TailInspection.inspect(segment, indexInterval: partition.config.indexIntervalBytes)
            try log.sync()
            usedEnd = max(
                usedEnd, try offsetsUsed(in: segment, indexedFrom: position, entries: try File.open(kept), startingAt: keptTail.endOffset))
            rebuild.removeAll { $0.baseOffset > segment.baseOffset }
            if !rebuild.contains(segment) { rebuild.append(segment) }
            actions.append(
                """
                truncated \(partition.name) \(segment.logName) at byte \(position): \(size - position) \
                bytes\(moved > 0 ? " and \(moved) later segment\(moved == 1 ? "" : "s")" : "") kept in \(sideDirectory)
                """
            )
            let capacityEnd = segment.offsetCapacityEnd
            if usedEnd > capacityEnd {
                actions.append(
                    """
                    could not reserve offsets \(capacityEnd)..<\(usedEnd) of \(partition.name): they lie \
                    beyond what \(segment.logName) can hold; offsets from \(capacityEnd) on may be given again
                    """
                )
                usedEnd = capacityEnd
            }
            if usedEnd > keptTail.endOffset {
                let gap = ByteBuffer(capacity: RecordBatchHeader.size * 2)
                RecordBatchHeader.appendOffsetGap(
                    from: keptTail.endOffset, count: usedEnd - keptTail.endOffset, maxTimestamp: keptTail.maxTimestamp, to: gap)
                try log.write(gap.bytes, at: position)
                try log.sync()
                actions.append(
                    """
                    reserved offsets \(keptTail.endOffset)..<\(usedEnd) of \
                    \(partition.name) (their records were cut off; no new record gets them)
                    """
                )
            }
        }
        let segments = try partition.segments()
        for segment in rebuild {
            try rebuildIndexes(segment, sealed: segment != segments.last, interval: partition.config.indexIntervalBytes)
            actions.append("rebuilt the indexes of \(partition.name) \(segment.logName)")
        }
        return actions
    }

    /// Rewrites a segment's `.index` and `.timeindex` from its log (atomically,
    /// via a temporary file and a rename), as Kafka's recovery would.
    public static func rebuildIndexes(_ segment: Segment, sealed: Bool, interval: Int64) throws {
        let (offsets, times) = try expectedEntries(segment, sealed: sealed, interval: interval)
        let offsetBytes = ByteBuffer(capacity: offsets.count * OffsetIndexEntry.size + 16)
        offsets.forEach { $0.append(to: offsetBytes) }
        let timeBytes = ByteBuffer(capacity: times.count * TimeIndexEntry.size + 16)
        times.forEach { $0.append(to: timeBytes) }
        // Time index first (see `PartitionAppender.write`).
        try FileSystem.writeAtomically(segment.timeIndexPath, timeBytes.array)
        try FileSystem.writeAtomically(segment.indexPath, offsetBytes.array)
    }

    /// The entries Kafka's indexing rule gives the valid prefix of a segment.
    public static func expectedEntries(_ segment: Segment, sealed: Bool, interval: Int64, limit: Int64? = nil) throws -> (
        [OffsetIndexEntry], [TimeIndexEntry]
    ) {
        let log = try File.open(segment.logPath)
        let scanner = SegmentScanner(file: log, limit: try limit ?? log.size(), from: 0, buffer: ByteBuffer(capacity: 1 << 20))
        var indexer = SegmentIndexer(baseOffset: segment.baseOffset, interval: interval)
        var offsets: [OffsetIndexEntry] = [], times: [TimeIndexEntry] = []
        func add(_ earned: (offset: OffsetIndexEntry?, time: TimeIndexEntry?)) {
            if let e = earned.offset { offsets.append(e) }
            if let e = earned.time { times.append(e) }
        }
        scan: while true {
            switch try scanner.next() {
            case .batch(let b):
                add(indexer.observe(position: b.position, lastOffset: b.header.lastOffset, maxTimestamp: b.header.maxTimestamp))
            case .legacy(let l):
                add(indexer.observe(position: l.position, lastOffset: l.message.offset, maxTimestamp: l.message.timestamp ?? -1))
            case .problem, .end: break scan
            }
        }
        if sealed, let final = indexer.finalTimeEntry() { times.append(final) }
        return (offsets, times)
    }

    /// The offset after the last one used by `entries` (the bytes of `segment`
    /// from byte `position` on, the first of them at offset `expected`), as
    /// shown by the segment's offset-index entries from `position` on, the
    /// valid batches in `entries`, and what a damaged batch's header claims
    /// where the claim is plausible (`claimedEnd`): it serves only to reserve offsets.
    private static func offsetsUsed(
        in segment: Segment, indexedFrom position: Int64, entries: File,
        startingAt expected: Int64
    ) throws -> Int64 {
        var used = expected
        for entry in try OffsetIndexFile.open(segment.indexPath)?.readAll() ?? [] where Int64(entry.position) >= position {
            used = max(used, segment.baseOffset + Int64(entry.relativeOffset) + 1)
        }
        let size = try entries.size()
        let scanner = SegmentScanner(file: entries, limit: size, from: 0, buffer: ByteBuffer(capacity: 1 << 20))
        var next = expected
        scan: while true {
            switch try scanner.next() {
            case .batch(let batch): next = max(next, batch.header.nextOffset)
            case .legacy(let legacy): next = max(next, legacy.message.offset + 1)
            case .problem(let problem):
                if let header = try claimedHeader(entries, at: problem.position, size: size) {
                    next = max(
                        next, header.claimedEnd(after: next, segmentEnd: segment.offsetCapacityEnd, available: size - problem.position))
                }
                guard scanner.skipInvalidEntry() else { break scan }
            case .end: break scan
            }
        }
        return max(used, next)
    }

    private static func claimedHeader(_ log: File, at position: Int64, size: Int64) throws -> RecordBatchHeader? {
        guard position + Int64(RecordBatchHeader.size) <= size else { return nil }
        var raw = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        guard try raw.withUnsafeMutableBytes({ try log.readFully(into: $0, at: position) }) == raw.count else { return nil }
        let header = raw.withUnsafeBytes { RecordBatchHeader($0.baseAddress!) }
        return header.magic == 2 ? header : nil
    }

    private static func copy(_ source: File, from: Int64, count: Int64, to path: String) throws {
        let target = try File.create(path, access: .writeOnly)
        let buffer = ByteBuffer(capacity: 1 << 20)
        var done: Int64 = 0
        while done < count {
            let n = try source.readFully(
                into: UnsafeMutableRawBufferPointer(start: buffer.base, count: Int(min(Int64(buffer.capacity), count - done))),
                at: from + done)
            if n == 0 { break }
            try target.write(UnsafeRawBufferPointer(start: buffer.base, count: n), at: done)
            done += Int64(n)
        }
        try target.sync()
        try target.close()
    }
}

/// Checks one segment for `PartitionVerifier.check`: its entries' framing and
/// records (`SegmentEntries`), their offsets against the previous entries'
/// (`OffsetContinuity`), both indexes against them (`OffsetIndexWalk`,
/// `TimeIndexWalk`), and, for sluice's own partitions, the indexes against a
/// rebuild. Problems in the log come in log order, then index problems.
private struct SegmentCheck {
    let partition: Partition
    let segment: Segment
    let isLast: Bool
    let strict: Bool
    /// For the last segment of a partition others may write: how far to check.
    let limits: PartitionVerifier.TailSizes?

    var indexName: String { segment.baseName + SegmentFileName.indexSuffix }
    var timeIndexName: String { segment.baseName + SegmentFileName.timeIndexSuffix }

    func problem(_ kind: VerifyProblem.Kind, _ file: String, _ position: Int64?, _ offset: Int64?, _ message: String) -> VerifyProblem {
        VerifyProblem(partition: partition.name, file: file, position: position, offset: offset, kind: kind, message: message)
    }

    /// `expected` is the offset the next entry should start at (nil when
    /// anything goes, as at the start of a broker's compacted log).
    func run(buffer: ByteBuffer, decoder: BatchDecoder, expected: inout Int64?, into result: inout PartitionCheck) throws {
        let log = try File.open(segment.logPath)
        let size = try limits?.log ?? log.size()
        result.bytes += size
        let scanner = SegmentScanner(file: log, limit: size, from: 0, buffer: buffer)
        var entries = SegmentEntries(check: self, scanner: scanner, decoder: decoder)
        var continuity = OffsetContinuity(check: self, expected: expected)
        var offsetIndex = OffsetIndexWalk(check: self, entries: try offsetIndexEntries())
        var timeIndex = TimeIndexWalk(check: self, entries: try timeIndexEntries())
        var indexProblems: [VerifyProblem] = []
        while let entry = try entries.next(into: &result) {
            continuity.observe(entry, into: &result)
            offsetIndex.observe(entry, into: &indexProblems)
            timeIndex.observe(entry, into: &indexProblems)
        }
        expected = continuity.expected
        offsetIndex.finish(into: &indexProblems)
        timeIndex.finish(into: &indexProblems)
        // A rebuild tells more only when the walks found nothing: otherwise the indexes are rebuilt anyway.
        if strict && indexProblems.isEmpty && !entries.foundDamage {
            indexProblems += try rebuildMismatches(offsetIndex.entries, timeIndex.entries, logSize: size)
        }
        if !indexProblems.isEmpty || entries.foundDamage { result.staleIndexes.append(segment) }
        result.problems += indexProblems
    }

    /// The offset index's entries, up to the size taken under the lock for a segment others may write.
    private func offsetIndexEntries() throws -> [OffsetIndexEntry] {
        let entries = try OffsetIndexFile.open(segment.indexPath)?.readAll() ?? []
        guard let limits else { return entries }
        return Array(entries.prefix(Int(limits.index) / OffsetIndexEntry.size))
    }

    private func timeIndexEntries() throws -> [TimeIndexEntry] {
        let entries = try TimeIndexFile.open(segment.timeIndexPath)?.readAll() ?? []
        guard let limits else { return entries }
        return Array(entries.prefix(Int(limits.timeIndex) / TimeIndexEntry.size))
    }

    /// Where the indexes differ from those Kafka's indexing rule gives the log's first `logSize` bytes.
    private func rebuildMismatches(
        _ offsetEntries: [OffsetIndexEntry], _ timeEntries: [TimeIndexEntry],
        logSize: Int64
    ) throws -> [VerifyProblem] {
        let (offsets, times) = try PartitionVerifier.expectedEntries(
            segment, sealed: !isLast,
            interval: partition.config.indexIntervalBytes, limit: logSize)
        var problems: [VerifyProblem] = []
        if offsets != offsetEntries {
            problems.append(
                problem(
                    .offsetIndex, indexName, nil, nil,
                    "has \(offsetEntries.count) entries where a rebuild from the log gives \(offsets.count) (or different ones)"))
        }
        if times != timeEntries {
            problems.append(
                problem(
                    .timeIndex, timeIndexName, nil, nil,
                    "has \(timeEntries.count) entries where a rebuild from the log gives \(times.count) (or different ones)"))
        }
        return problems
    }
}

extension PartitionCheck {
    /// Makes `position` the place `--repair` cuts, unless damage before it was found already.
    fileprivate mutating func cut(at position: Int64, in segment: Segment) {
        if cut == nil { cut = (segment, position) }
    }
}

/// What the checks after framing need of one valid entry (a batch or a legacy message).
private struct CheckedEntry {
    let position: Int64
    /// The first offset it holds (for a legacy wrapper, its first inner message's, when they decode).
    let base: Int64
    let last: Int64
    let maxTimestamp: Int64
}

/// The valid entries of a segment, each decoded to count its records; what
/// cannot be framed or decoded is reported as found.
private struct SegmentEntries {
    let check: SegmentCheck
    let scanner: SegmentScanner
    let decoder: BatchDecoder
    /// Whether an entry failed its framing or CRC (the log needs a repair).
    private(set) var foundDamage = false

    init(check: SegmentCheck, scanner: SegmentScanner, decoder: BatchDecoder) {
        self.check = check
        self.scanner = scanner
        self.decoder = decoder
    }

    /// The next valid entry, or nil at the end of what can be framed.
    mutating func next(into result: inout PartitionCheck) throws -> CheckedEntry? {
        while true {
            switch try scanner.next() {
            case .end:
                return nil
            case .problem(let problem):
                try report(problem, into: &result)
                if scanner.skipInvalidEntry() { continue }
                reportUnframable(from: problem.position, into: &result)
                return nil
            case .batch(let batch):
                return decode(batch, into: &result)
            case .legacy(let legacy):
                return decode(legacy, into: &result)
            }
        }
    }

    private mutating func report(_ problem: ScanProblem, into result: inout PartitionCheck) throws {
        let torn = check.isLast ? try problem.isTornTail(scanner: scanner) : false
        let message = torn ? "\(problem) — a torn write; the next writer to this partition truncates it" : "\(problem)"
        result.problems.append(
            check.problem(
                torn ? .tornTail : .corruptEntry, check.segment.logName, problem.position,
                problem.claimedOffset, message))
        result.cut(at: problem.position, in: check.segment)
        foundDamage = true
    }

    private func reportUnframable(from position: Int64, into result: inout PartitionCheck) {
        guard scanner.limit > position else { return }
        result.problems.append(
            check.problem(
                .corruptEntry, check.segment.logName, position, nil,
                "the remaining \(scanner.limit - position) bytes of the segment cannot be framed"))
    }

    private func decode(_ batch: ScannedBatch, into result: inout PartitionCheck) -> CheckedEntry {
        result.batches += 1
        do {
            var records = try decoder.records(of: batch.bytes, header: batch.header)
            while try records.next() != nil { result.records += 1 }
        } catch {
            undecodable(error, batch.position, batch.header.baseOffset, into: &result)
        }
        return CheckedEntry(
            position: batch.position, base: batch.header.baseOffset, last: batch.header.lastOffset,
            maxTimestamp: batch.header.maxTimestamp)
    }

    private func decode(_ legacy: ScannedLegacyMessage, into result: inout PartitionCheck) -> CheckedEntry {
        let message = legacy.message
        result.batches += 1
        var base = message.offset
        do {
            let messages = try decoder.messages(of: message)
            base = messages[0].offset
            result.records += Int64(messages.count)
        } catch {
            undecodable(error, legacy.position, message.offset, into: &result)
        }
        return CheckedEntry(position: legacy.position, base: base, last: message.offset, maxTimestamp: message.timestamp ?? -1)
    }

    /// An entry whose records do not decode although its CRC is right: a
    /// problem, and the place `--repair` cuts if nothing before it is damaged.
    private func undecodable(_ error: any Error, _ position: Int64, _ base: Int64, into result: inout PartitionCheck) {
        result.problems.append(check.problem(.invalidRecords, check.segment.logName, position, base, "\(error)"))
        result.cut(at: position, in: check.segment)
    }
}

/// Checks that each entry's offsets follow the previous entry's, across segments.
private struct OffsetContinuity {
    let check: SegmentCheck
    /// The offset the next entry should start at; nil before the first entry of a non-strict check.
    private(set) var expected: Int64?
    private var isFirstInSegment = true

    init(check: SegmentCheck, expected: Int64?) {
        self.check = check
        self.expected = expected
    }

    mutating func observe(_ entry: CheckedEntry, into result: inout PartitionCheck) {
        let logName = check.segment.logName
        if isFirstInSegment && entry.base < check.segment.baseOffset {
            result.problems.append(
                check.problem(
                    .segmentName, logName, entry.position, entry.base,
                    "the first entry's offset is below the segment's base offset \(check.segment.baseOffset)"))
        }
        isFirstInSegment = false
        if let next = expected, entry.base < next || (entry.base > next && check.strict) {
            result.problems.append(
                entry.base < next
                    ? check.problem(.offsetOverlap, logName, entry.position, entry.base, "offsets go back: expected \(next) or more")
                    : check.problem(.offsetGap, logName, entry.position, entry.base, "offsets \(next)..<\(entry.base) are missing"))
            // A base offset is outside the batch CRC: a damaged one is cut like any other damage.
            result.cut(at: entry.position, in: check.segment)
        }
        expected = max(expected ?? 0, entry.last + 1)
    }
}

/// Walks the offset index alongside the log: every entry must name the
/// start of an entry and that entry's last offset.
private struct OffsetIndexWalk {
    let check: SegmentCheck
    let entries: [OffsetIndexEntry]
    private var next = 0

    init(check: SegmentCheck, entries: [OffsetIndexEntry]) {
        self.check = check
        self.entries = entries
    }

    /// Checks the index entries at or before `entry`'s position.
    mutating func observe(_ entry: CheckedEntry, into problems: inout [VerifyProblem]) {
        while next < entries.count, Int64(entries[next].position) <= entry.position {
            let e = entries[next]
            let claimed = check.segment.baseOffset + Int64(e.relativeOffset)
            if Int64(e.position) < entry.position {
                problems.append(problem(claimed, "entry \(next) points at byte \(e.position), which is not the start of an entry"))
            } else if claimed != entry.last {
                problems.append(
                    problem(
                        claimed,
                        "entry \(next) claims offset \(claimed) at byte \(e.position), where the batch's last offset is \(entry.last)"))
            }
            next += 1
        }
    }

    /// Reports the entries past the last valid log entry.
    func finish(into problems: inout [VerifyProblem]) {
        guard next < entries.count else { return }
        problems.append(problem(nil, "\(entries.count - next) entries point beyond the valid log"))
    }

    private func problem(_ offset: Int64?, _ message: String) -> VerifyProblem {
        check.problem(.offsetIndex, check.indexName, Int64(next * OffsetIndexEntry.size), offset, message)
    }
}

/// Walks the time index alongside the log: every entry must hold the
/// largest timestamp up to its offset, and timestamps must increase.
private struct TimeIndexWalk {
    let check: SegmentCheck
    let entries: [TimeIndexEntry]
    private var next = 0
    private var runningMax: Int64 = -1

    init(check: SegmentCheck, entries: [TimeIndexEntry]) {
        self.check = check
        self.entries = entries
    }

    /// Checks the index entries whose offsets fall in `entry`.
    mutating func observe(_ entry: CheckedEntry, into problems: inout [VerifyProblem]) {
        runningMax = max(runningMax, entry.maxTimestamp)
        while next < entries.count, check.segment.baseOffset + Int64(entries[next].relativeOffset) <= entry.last {
            let e = entries[next]
            if e.timestamp != runningMax {
                problems.append(
                    problem(
                        check.segment.baseOffset + Int64(e.relativeOffset),
                        "entry \(next) says timestamp \(e.timestamp), but the largest timestamp up to that offset is \(runningMax)"))
            }
            if next > 0, e.timestamp <= entries[next - 1].timestamp {
                problems.append(problem(nil, "entry \(next) does not increase the timestamp"))
            }
            next += 1
        }
    }

    /// Reports the entries past the last valid log entry.
    func finish(into problems: inout [VerifyProblem]) {
        guard next < entries.count else { return }
        problems.append(problem(nil, "\(entries.count - next) entries point beyond the valid log"))
    }

    private func problem(_ offset: Int64?, _ message: String) -> VerifyProblem {
        check.problem(.timeIndex, check.timeIndexName, Int64(next * TimeIndexEntry.size), offset, message)
    }
}

extension RecordBatchHeader {
    /// The offset after the last one this (damaged) header claims, for a
    /// batch that follows offset `expected` and has `available` bytes. Its
    /// offset count must fit its size (an uncompressed record takes at least
    /// 7 bytes; compression is given a ratio no codec reaches on real
    /// records), and its base offset (outside the CRC) must lie in its
    /// segment (before `segmentEnd`) and not go back; a base that does not is
    /// taken to be `expected`.
    fileprivate func claimedEnd(after expected: Int64, segmentEnd: Int64, available: Int64) -> Int64 {
        let body = min(Int64(totalSize), available) - Int64(Self.size)
        guard lastOffsetDelta >= 0, Int64(lastOffsetDelta) < (compression == CompressionCodec.none ? body / 7 + 1 : body * 64 + 1) else {
            return expected
        }
        let base = (expected..<segmentEnd).contains(baseOffset) ? baseOffset : expected
        return min(segmentEnd, base.addingSaturated(Int64(lastOffsetDelta) + 1))
    }
}
