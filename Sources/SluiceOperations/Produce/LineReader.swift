import SluiceCore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines without copying: lines are views into one
/// large buffer that is refilled as it is consumed. A final line without a
/// newline counts; a line longer than `maxLineBytes` is an error rather than
/// unbounded memory.
public final class LineReader {
    public static let defaultMaxLineBytes = 64 << 20
    private let file: File
    private let buffer: ByteBuffer
    private var start = 0
    private var atEOF = false
    private let maxLineBytes: Int
    public private(set) var lineNumber = 0
    public private(set) var bytesRead: Int64 = 0
    /// Polled before each read and when a signal interrupts one: once it
    /// returns true the input ends there (SIGINT/SIGTERM on a stream that
    /// would otherwise be read to its end).
    public var stopWhen: (() -> Bool)?
    /// Whether `stopWhen` ended the input early.
    public private(set) var stopped = false

    public init(file: File, chunkSize: Int = 1 << 20, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
        self.file = file
        self.buffer = ByteBuffer(capacity: chunkSize)
        self.maxLineBytes = maxLineBytes
    }

    /// The next line without its newline, valid until the next call; nil at end.
    @inline(__always)
    public func next() throws -> UnsafeRawBufferPointer? {
        while true {
            let available = buffer.count - start
            if available > 0,
                let newline = memchr(buffer.base + start, 0x0A, available)
            {
                let length = UnsafeRawPointer(newline) - UnsafeRawPointer(buffer.base + start)
                let line = UnsafeRawBufferPointer(start: buffer.base + start, count: length)
                start += length + 1
                lineNumber += 1
                return line
            }
            if atEOF {
                guard available > 0 else { return nil }
                let line = UnsafeRawBufferPointer(start: buffer.base + start, count: available)
                start = buffer.count
                lineNumber += 1
                return line
            }
            try fill()
        }
    }

    private func fill() throws {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        if buffer.count >= maxLineBytes {
            throw SluiceError.failure(
                .invalidInput, "line \(lineNumber + 1) of \(file.path) is longer than \(maxLineBytes) bytes",
                remedy: "split the input, or produce such values with --json and base64")
        }
        if buffer.capacity - buffer.count < (buffer.capacity / 2) { buffer.reserve(buffer.capacity) }
        let room = UnsafeMutableRawBufferPointer(start: buffer.base + buffer.count, count: buffer.capacity - buffer.count)
        var read: Int?
        while read == nil {
            if stopWhen?() == true {
                stopped = true
                atEOF = true
                return
            }
            read = stopWhen == nil ? try file.read(into: room) : try file.readUnlessInterrupted(into: room)
        }
        let n = read!
        if n == 0 { atEOF = true }
        buffer.count += n
        bytesRead += Int64(n)
    }
}

extension SluiceError.Reason {
    public static let invalidInput = Self("invalid-input")
}
