import SluiceCore
import SystemPackage

/// A large output buffer in front of a file or pipe, written with few
/// syscalls. A reader that goes away (`sluice consume | head`) is not an
/// error: `isClosed` becomes true and the writer should stop.
public final class BufferedOutput {
    public let file: File
    public let buffer: ByteBuffer
    /// How much the buffer holds before it is written out.
    public private(set) var threshold: Int
    public private(set) var isClosed = false
    public private(set) var bytesWritten: Int64 = 0
    private let maxThreshold: Int
    private let latencyNanos: UInt64?

    public static let defaultThreshold = 1 << 20
    static let minimumThreshold = 4 << 10

    /// With `latencyMillis`, the threshold follows the reader, so what is
    /// buffered reaches it within about that long: it starts at 4 KiB; after
    /// a write the reader held back, it becomes what the reader took in that
    /// time, scaled to `latencyMillis` (at least 4 KiB); after one it did
    /// not, it doubles, up to `threshold`.
    public init(file: File, threshold: Int = BufferedOutput.defaultThreshold, latencyMillis: Int? = nil) {
        self.file = file
        self.threshold = latencyMillis == nil ? threshold : min(threshold, Self.minimumThreshold)
        self.maxThreshold = threshold
        self.latencyNanos = latencyMillis.map { UInt64($0) * 1_000_000 }
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
            let started = latencyNanos == nil ? 0 : WallClock.monotonicNanos()
            try file.write(buffer.bytes)
            if let latencyNanos { adapt(written: buffer.count, took: WallClock.monotonicNanos() - started, latency: latencyNanos) }
            bytesWritten += Int64(buffer.count)
            buffer.clear()
            return true
        } catch let error as SluiceError where error.reason == .brokenPipe {
            isClosed = true
            buffer.clear()
            return false
        } catch {
            // Part of the buffer may have reached the reader: writing it again would repeat that part.
            isClosed = true
            buffer.clear()
            throw error
        }
    }

    private func adapt(written: Int, took: UInt64, latency: UInt64) {
        if took > latency / 4 {
            let perLatency = Double(written) * Double(latency) / Double(took)
            threshold = Int(min(Double(maxThreshold), max(Double(Self.minimumThreshold), perLatency)))
        } else {
            threshold = min(maxThreshold, threshold * 2)
        }
    }
}
