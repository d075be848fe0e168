import SluiceCore
import SluiceSystem

/// Kafka's offset checkpoint files (`log-start-offset-checkpoint`,
/// `recovery-point-offset-checkpoint`, ...; docs/FORMAT.md §2.5): a version line
/// (0), a count line, then `topic partition offset` per line.
public enum OffsetCheckpointFile {
    /// The entries of a checkpoint file; none when it is absent or empty (as Kafka reads a zero-byte one).
    public static func read(_ path: String) throws -> [TopicPartition: Int64] {
        guard let bytes = try FileSystem.readIfExists(path) else { return [:] }
        return try parse(bytes, what: path)
    }

    public static func parse(_ bytes: [UInt8], what: String) throws -> [TopicPartition: Int64] {
        if bytes.isEmpty { return [:] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count >= 0, lines.count >= 2 + count else {
            throw SluiceError.failure(.corruptMetadata, "\(what) is not a Kafka offset checkpoint (version 0, count, entries)")
        }
        var offsets: [TopicPartition: Int64] = [:]
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let partition = Int(fields[1]), let offset = Int64(fields[2]) else {
                throw SluiceError.failure(.corruptMetadata, "\(what) has a malformed line '\(String(line).printable)'")
            }
            offsets[TopicPartition(String(fields[0]), partition)] = offset
        }
        return offsets
    }

    public static func encode(_ offsets: [TopicPartition: Int64]) -> [UInt8] {
        var text = "0\n\(offsets.count)\n"
        for (key, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            text += "\(key.topic) \(key.partition) \(offset)\n"
        }
        return Array(text.utf8)
    }
}
