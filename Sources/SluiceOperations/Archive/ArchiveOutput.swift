import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Where an export writes: standard output, or a file that appears only
/// when complete (a temporary file beside it, fsynced, renamed over it), so
/// a failed or killed export never leaves a partial archive under the name.
public final class ArchiveOutput {
    private let file: File
    private let temporary: String?
    private let target: String
    private var offset: Int64 = 0

    private init(file: File, temporary: String?, target: String) {
        self.file = file
        self.temporary = temporary
        self.target = target
    }

    public static func standardOutput() -> ArchiveOutput {
        ArchiveOutput(file: StandardStreams.output, temporary: nil, target: "standard output")
    }

    public static func file(_ path: String) throws -> ArchiveOutput {
        try FileSystem.removeAbandonedTemporaries(of: path)
        let temporary = "\(FileSystem.temporaryPrefix(of: path))\(getpid())"
        return ArchiveOutput(file: try File.create(temporary, access: .writeOnly), temporary: temporary, target: path)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard temporary != nil else {
            do {
                return try file.write(bytes)
            } catch let error as SluiceError where error.reason == .brokenPipe {
                throw SluiceError.failure(
                    .brokenPipe, "the reader of standard output went away before the archive was complete",
                    remedy: "the archive it received is truncated; export again")
            }
        }
        try file.write(bytes, at: offset)
        offset += Int64(bytes.count)
    }

    /// Makes the archive durable and, for a file, gives it its name.
    public func commit() throws {
        guard let temporary else { return }
        try file.sync()
        try file.close()
        try FileSystem.rename(temporary, to: target)
        try FileSystem.syncDirectory(FileSystem.parent(of: target))
    }

    /// Removes the partial archive of a failed export.
    public func abandon() {
        guard let temporary else { return }
        try? file.close()
        try? FileSystem.removeFile(temporary)
    }
}
