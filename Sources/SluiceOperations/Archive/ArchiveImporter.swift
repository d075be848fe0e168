import KafkaFormat
import SluiceCore
import SluiceLocal
import SluiceStorage
import SluiceSystem

/// What an import did (or, in a dry run, would do).
public struct ImportResult: Sendable {
    public struct Partition: Sendable {
        public let partition: Int
        public let firstOffset: Int64
        public let nextOffset: Int64
        public let records: Int64
    }

    public let manifest: ArchiveManifest
    public let summary: ArchiveSummary
    public let topic: String
    public let mode: ArchiveImporter.Mode
    public let dryRun: Bool
    public let partitions: [Partition]
    /// Groups whose offsets were restored.
    public let restoredGroups: [String]

    public var records: Int64 { partitions.reduce(0) { $0 + $1.records } }
}

/// Imports an archive into a data directory, all or nothing.
///
/// The archive streams through `ArchiveReader`, which checks every batch CRC,
/// the manifest and the summary; the batches are written meanwhile into a
/// staging area inside the data directory (`StagingArea`), with their
/// indexes. Only when the whole archive has been read and verified does the
/// import commit, in one step: a new topic appears with all its partitions
/// (`DataDirectory.createTopic(staged:in:)`), or the new segments of every
/// partition of an existing topic appear together (`StagingArea.commitAppend`).
/// On any error, or if the process is killed, nothing becomes visible; a
/// killed import's staging area is removed when the data directory is next
/// opened, so running the import again is safe.
public final class ArchiveImporter: ArchiveSink {
    public enum Mode: String, Sendable {
        /// A new topic whose partitions hold exactly the archived offsets.
        case preserveOffsets = "preserve-offsets"
        /// After the end of an existing topic's partitions, re-offset.
        case append
    }

    public struct Options {
        /// The destination topic (default: the archived topic's name).
        public var topic: String?
        /// nil: preserve offsets into a new topic; an existing topic needs `.append`.
        public var mode: Mode?
        /// Read and check everything, write nothing.
        public var dryRun = false
        /// Restores the archive's group offsets (preserve-offsets only).
        public var groups: GroupOffsetStore?
        public init() {}
    }

    public let directory: DataDirectory
    private let options: Options
    private var staging: StagingArea?
    private var route: ImportRoute?
    private var target = ""
    private var mode = Mode.preserveOffsets
    private var newTopic: TopicMetadata?
    private var existingTopic: Topic?
    private var spaceNeeded: Int64 = 0

    /// What an import takes on disk, about: the segments, their indexes (one
    /// entry of 8 + 12 bytes per 4 KiB of log), and a block or two per file.
    static func spaceNeeded(_ manifest: ArchiveManifest) -> Int64 {
        let files = Int64(manifest.partitions.reduce(0) { $0 + $1.files.count } + manifest.partitionCount)
        return manifest.totalBytes + manifest.totalBytes / 4096 * 20 + files * 3 * 4096
    }

    public init(directory: DataDirectory, options: Options) {
        self.directory = directory
        self.options = options
    }

    /// Reads the archive from `input` (`name` names it in messages), then commits.
    public func run(_ input: File, name: String, progress: ((ArchiveProgress) -> Void)? = nil) throws -> ImportResult {
        if !options.dryRun { try directory.requireWritable("import into \(directory.path)") }
        do {
            let reader = ArchiveReader(name: name, sink: self)
            let (manifest, summary) = try reader.read(input, progress: progress)
            let destinations = try route!.finish()
            let result = try commit(manifest, summary, destinations)
            try staging?.discard()
            return result
        } catch let error as SluiceError {
            let committed: Bool? = try? staging?.isCommitted ?? false
            try? staging?.discard()
            guard error.kind != .usage else { throw error }
            var reported = error
            if error.reason == .noSpace && error.neededBytes != nil { reported.neededBytes = max(error.neededBytes ?? 0, spaceNeeded) }
            let outcome =
                switch committed {
                case true?: "the import is committed; the next sluice command on \(directory.path) completes it"
                case false? where error.reason == .corruptArchive && error.remedy == nil:
                    """
                    nothing was imported; importing this archive again cannot \
                    help: use another copy of it, or export it again from its source
                    """
                case false?: "nothing was imported; run the import again"
                case nil:
                    "whether the import was committed could not be read; check the topic (sluice topic describe) before importing again"
                }
            reported.remedy = [error.remedy, outcome].compactMap { $0 }.joined(separator: "; ")
            throw reported
        } catch {
            try? staging?.discard()
            throw error
        }
    }

    private func commit(_ manifest: ArchiveManifest, _ summary: ArchiveSummary, _ destinations: [Destination]) throws -> ImportResult {
        var partitions = destinations.map {
            ImportResult.Partition(partition: $0.partition, firstOffset: $0.firstOffset, nextOffset: $0.nextOffset, records: $0.records)
        }
        var restored: [String] = []
        if !options.dryRun, let staging {
            if let newTopic {
                // Group offsets before the topic's commit point: a kill between
                // the two leaves offsets on a topic that does not exist yet, which
                // a rerun restores again, where the other order left a topic whose
                // import could not be completed (its rerun finds the topic exists).
                _ = try DeletedTopicOffsets.forget(target, in: LocalStore(directory))
                if let store = options.groups, let groups = manifest.groups, !groups.isEmpty {
                    try store.restore(topic: target, offsets: groups)
                    restored = groups.keys.sorted()
                }
                try directory.createTopic(staged: newTopic, in: staging)
            } else if let existingTopic {
                let appended = try staging.commitAppend(destinations.map(\.staged), to: existingTopic)
                partitions = partitions.map { p in
                    guard let a = appended.first(where: { $0.partition == p.partition }) else { return p }
                    return ImportResult.Partition(partition: p.partition, firstOffset: a.first, nextOffset: a.next, records: p.records)
                }
            }
        }
        return ImportResult(
            manifest: manifest, summary: summary, topic: target, mode: mode, dryRun: options.dryRun,
            partitions: partitions.sorted { $0.partition < $1.partition }, restoredGroups: restored)
    }

    // MARK: - ArchiveSink

    func begin(_ manifest: ArchiveManifest) throws {
        target = options.topic ?? manifest.topic
        try TopicName.requireUserTopic(target, for: "import", remedy: "import into a topic of your own with --topic NAME")
        let exists = try directory.existingTopic(target) != nil
        switch options.mode {
        case nil where exists:
            throw SluiceError.usage(
                .topicExists, "topic '\(target)' already exists",
                remedy: "pass --append to add the archived records after its end, or --topic NAME to import into a new topic")
        case .preserveOffsets? where exists:
            throw SluiceError.failure(
                .topicExists, "cannot preserve offsets in topic '\(target)': it already exists",
                remedy: "import into a new topic with --topic NAME, or pass --append")
        case .append? where !exists:
            throw SluiceError.failure(
                .unknownTopic, "topic '\(target)' does not exist, so nothing can be appended to it",
                remedy: "leave out --append to create it with the archived offsets")
        default:
            mode = options.mode ?? .preserveOffsets
        }
        if options.groups != nil && manifest.groups != nil && mode == .append {
            throw SluiceError.usage(
                .invalidArgument, "group offsets can only be restored with --preserve-offsets (appending moves every offset)")
        }
        spaceNeeded = Self.spaceNeeded(manifest)
        if !options.dryRun, let free = FileSystem.freeBytes(near: directory.path), free < spaceNeeded {
            throw SluiceError.failure(
                .noSpace,
                """
                importing the archive needs about \(ByteCount.format(spaceNeeded)) \
                but \(directory.path) has \(ByteCount.format(free)) free
                """
            )
        }
        if !options.dryRun { staging = try StagingArea.create(in: directory) }
        if mode == .preserveOffsets {
            try beginNewTopic(manifest)
        } else {
            try beginAppend(manifest, to: try directory.topic(target))
        }
    }

    private func beginNewTopic(_ manifest: ArchiveManifest) throws {
        var config = TopicConfig()
        for (key, value) in manifest.config { try config.set(key, value) }
        let metadata = try directory.prepareTopic(target, partitions: manifest.partitionCount, config: config)
        newTopic = metadata
        route = PreservingRoute(manifest: manifest) { [directory, staging] p in
            guard let staging else { return nil }
            let path = try directory.stagePartitionDirectory(metadata, p, in: staging)
            return SegmentBuilder(directory: path, config: config, layout: .asGiven)
        }
    }

    private func beginAppend(_ manifest: ArchiveManifest, to topic: Topic) throws {
        existingTopic = topic
        let repartition = manifest.partitionCount != topic.partitionCount
        let staging = self.staging
        let makeDestination: (Int) throws -> Destination = { p in
            // Offsets are staged from the partition's end as of now; the
            // commit moves them if other writers append in the meantime.
            let end = try topic.partition(p).endOffset()
            var builder: SegmentBuilder?
            if let staging {
                let path = "\(staging.path)/\(topic.name)-\(p)"
                try FileSystem.makeDirectory(path)
                builder = SegmentBuilder(
                    directory: path, config: topic.config, layout: .reoffset(from: end),
                    writeBuffer: repartition ? 64 << 10 : 1 << 20)
            }
            return Destination(partition: p, firstOffset: end, builder: builder)
        }
        route =
            repartition
            ? RepartitioningRoute(partitions: topic.partitionCount, makeDestination: makeDestination)
            : CopyingRoute(makeDestination: makeDestination)
    }

    func beginFile(_ file: ArchivedFile, of partition: ArchivedPartition) throws { try route!.beginFile(file, of: partition) }
    func beginEntry(_ first: UnsafeRawBufferPointer, _ info: EntryInfo) throws { try route!.beginEntry(first, info) }
    func entryBytes(_ bytes: UnsafeRawBufferPointer) throws { try route!.entryBytes(bytes) }
    func endEntry() throws { try route!.endEntry() }
    func endFile() throws {}
}

/// Reads and checks an archive without importing it (`archive inspect`,
/// `archive verify`): the manifest, and the summary verified against every byte.
public enum ArchiveInspection {
    public static func read(_ input: File, name: String, progress: ((ArchiveProgress) -> Void)? = nil) throws -> (
        ArchiveManifest, ArchiveSummary
    ) {
        try ArchiveReader(name: name, sink: nil).read(input, progress: progress)
    }
}
