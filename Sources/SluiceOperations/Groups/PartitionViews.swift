import KafkaFormat
import SluiceCore
import SluiceGroups
import SluiceStorage
import SluiceSystem

/// What group reports need of a partition: its offset range, and the
/// timestamps of the records at some offsets. One view per partition serves
/// every group that reads it, with its index and log files opened once, so a
/// lookup is a binary search of the offset index plus one small read, and
/// each batch is decoded at most once however many groups stand in it.
final class PartitionView {
    let partition: Partition
    let start: Int64
    let end: Int64
    private let segments: [Segment]
    private let scratch: ReadScratch
    private var opened: [Int: (index: OffsetIndexFile?, log: File, size: Int64)] = [:]
    /// The offsets and timestamps of the last batch decoded.
    private var decoded: (base: Int64, next: Int64, offsets: [Int64], timestamps: [Int64])?

    init(_ partition: Partition, scratch: ReadScratch) throws {
        self.partition = partition
        self.scratch = scratch
        segments = try partition.segments()
        let end = try TailInspection.inspect(segments.last!, indexInterval: partition.config.indexIntervalBytes, buffer: scratch.buffer).endOffset
        self.end = end
        start = min(try partition.logStartOffset(segments: segments), end)
    }

    /// The timestamps of the first records at or after each offset (nil at
    /// the end), looked up in ascending order so no batch is read twice.
    func timestamps(at offsets: Set<Int64>) throws -> [Int64: Int64] {
        var found: [Int64: Int64] = [:]
        for offset in offsets.sorted() { found[offset] = try timestamp(at: offset) }
        decoded = nil
        return found
    }

    /// The timestamp of the first record at or after `offset` (nil at the end).
    private func timestamp(at offset: Int64) throws -> Int64? {
        guard offset < end else { return nil }
        let target = max(offset, start)
        if let batch = decoded, batch.base <= target, target < batch.next, let i = batch.offsets.firstIndex(where: { $0 >= target }) {
            return batch.timestamps[i]
        }
        var lo = 0, hi = segments.count - 1, chosen = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if segments[mid].baseOffset <= target { chosen = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        for i in chosen..<segments.count {
            if let found = try timestamp(at: target, in: i) { return found }
        }
        return nil
    }

    private func timestamp(at offset: Int64, in i: Int) throws -> Int64? {
        let segment = segments[i]
        let files = try files(i)
        let buffer = scratch.buffer, decoder = scratch.decoder
        var position: Int64 = 0
        if offset > segment.baseOffset, let index = files.index,
           let (_, entry) = try index.floorEntry(relativeOffset: Int32(clamping: offset - segment.baseOffset)) {
            position = Int64(entry.position)
        }
        // An index entry names the batch ending at its offset; records at `offset` are in it or after it.
        for from in position > 0 ? [position, 0] : [0] {
            let scanner = SegmentScanner(file: files.log, limit: files.size, from: from, buffer: buffer, chunkSize: 16 << 10)
            scan: while true {
                switch try scanner.next() {
                case .batch(let batch):
                    if batch.header.baseOffset > offset && from > 0 { break scan }
                    guard batch.header.nextOffset > offset else { continue }
                    if batch.header.timestampType == .logAppendTime { return batch.header.maxTimestamp }
                    var records = try decoder.records(of: batch.bytes, header: batch.header)
                    var offsets: [Int64] = [], timestamps: [Int64] = []
                    offsets.reserveCapacity(Int(batch.header.recordsCount))
                    timestamps.reserveCapacity(Int(batch.header.recordsCount))
                    while let record = try records.next() {
                        offsets.append(record.offset)
                        timestamps.append(record.timestamp)
                    }
                    decoded = (batch.header.baseOffset, batch.header.nextOffset, offsets, timestamps)
                    if let i = offsets.firstIndex(where: { $0 >= offset }) { return timestamps[i] }
                case .legacy(let legacy):
                    if legacy.message.offset >= offset { return legacy.message.timestamp ?? -1 }
                case .problem, .end:
                    return nil
                }
            }
        }
        return nil
    }

    private func files(_ i: Int) throws -> (index: OffsetIndexFile?, log: File, size: Int64) {
        if let cached = opened[i] { return cached }
        let log = try File.open(segments[i].logPath)
        let files = (try OffsetIndexFile.open(segments[i].indexPath), log, try log.size())
        opened[i] = files
        return files
    }
}

/// Buffers every view of a report shares (reading is single-threaded).
final class ReadScratch {
    let buffer = ByteBuffer(capacity: 64 << 10)
    lazy var decoder = BatchDecoder()
}

/// Partition views by topic partition, and the topics behind them, each
/// opened once per report. A deleted topic or partition has no view.
final class PartitionViews {
    let directory: DataDirectory
    private let scratch = ReadScratch()
    private var topics: [String: Topic?] = [:]
    private var views: [TopicPartition: PartitionView?] = [:]

    init(_ directory: DataDirectory) {
        self.directory = directory
    }

    func topic(_ name: String) throws -> Topic? {
        if let cached = topics[name] { return cached }
        let topic = try directory.existingTopic(name)
        topics[name] = topic
        return topic
    }

    /// The view of a partition that must exist: unknown topics and partitions are errors.
    func require(_ key: TopicPartition) throws -> PartitionView {
        let topic = try self.topic(key.topic) ?? directory.topic(key.topic)
        _ = try topic.partition(key.partition)
        guard let view = try view(key) else {
            throw SluiceError.failure(.partitionMissing, "partition \(key) has no directory", remedy: "run 'sluice verify \(key.topic)'")
        }
        return view
    }

    func view(_ key: TopicPartition) throws -> PartitionView? {
        if let cached = views[key] { return cached }
        var view: PartitionView?
        if let topic = try topic(key.topic), topic.partitionIndices.contains(key.partition) {
            do {
                view = try PartitionView(try topic.partition(key.partition), scratch: scratch)
            } catch let error as SluiceError where error.reason == .partitionMissing {
                view = nil
            }
        }
        views[key] = view
        return view
    }
}
