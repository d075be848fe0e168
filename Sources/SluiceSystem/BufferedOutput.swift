import SluiceCore
import SystemPackage

/// A large output buffer in front of a file or pipe, written with few
/// syscalls. A reader that goes away (`sluice consume | head`) is not an
/// error: `isClosed` becomes true and the writer should stop.
public final class BufferedOutput {
    public let file: File
    public let buffer: ByteBuffer
    public let threshold: Int
    public private(set) var isClosed = false
    public private(set) var bytesWritten: Int64 = 0

    public init(file: File, threshold: Int = 1 << 20) {
        self.file = file
        self.threshold = threshold
        self.buffer = ByteBuffer(capacity: threshold + (64 << 10))
    }

    /// Writes the buffer out if it holds at least `threshold` bytes.
    @inline(__always)
    public func flushIfFull() throws {
        if buffer.count >= threshold { try flush() }
    }

    /// Writes everything buffered. Returns false when the reader has gone.
    @discardableResult
    public func flush() throws -> Bool {
        guard !isClosed else { buffer.clear(); return false }
        guard !buffer.isEmpty else { return true }
        do {
            try file.write(buffer.bytes)
            bytesWritten += Int64(buffer.count)
            buffer.clear()
            return true
        } catch let error as SluiceError where error.reason == .brokenPipe {
            isClosed = true
            buffer.clear()
            return false
        }
    }
}
