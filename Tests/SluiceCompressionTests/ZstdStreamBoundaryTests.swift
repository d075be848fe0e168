import SluiceCompression
import SluiceCore
import TestSupport
import Testing

/// Found by the concurrency soak: an export whose tar stream was an exact
/// multiple of the decoder's 128 KiB output buffer (a tar is padded to
/// 10 KiB records, so about one archive in 64) read as "truncated", because
/// the call after the frame's end — made only to drain a full buffer —
/// returns the next frame's header size as its hint.
@Suite struct ZstdStreamBoundaryTests {
    @Test(arguments: [1, 5, 64])
    func aStreamEndingExactlyAtTheOutputBufferEdgeIsComplete(blocks: Int) throws {
        var compressed: [UInt8] = []
        let encoder = try ZstdStreamEncoder(level: 3, threads: 1) { compressed += $0 }
        var random = SeededRandom(seed: UInt64(blocks))
        let plain = (0..<blocks * 131_072).map { _ in UInt8.random(in: 0...3, using: &random) }
        try plain.withUnsafeBytes { try encoder.write($0) }
        try encoder.finish()

        // Fed whole, and fed in pieces that end inside and at the end of the frame.
        for piece in [compressed.count, 4096, 1] {
            let decoder = ZstdStreamDecoder()
            var out: [UInt8] = []
            var at = 0
            while at < compressed.count {
                let end = min(compressed.count, at + piece)
                try compressed[at..<end].withUnsafeBytes { try decoder.feed($0) { out += $0 } }
                at = end
            }
            try decoder.finish()
            #expect(out == plain, "fed in pieces of \(piece)")
        }
    }

    @Test func aStreamCutShortIsStillTruncated() throws {
        var compressed: [UInt8] = []
        let encoder = try ZstdStreamEncoder(level: 3, threads: 1) { compressed += $0 }
        try [UInt8](repeating: 1, count: 131_072).withUnsafeBytes { try encoder.write($0) }
        try encoder.finish()
        let decoder = ZstdStreamDecoder()
        try compressed.dropLast(3).withUnsafeBytes { try decoder.feed($0) { _ in } }
        #expect(throws: SluiceError.self) { try decoder.finish() }
    }
}
