import KafkaFormat
import SluiceCore
import Testing

@Suite struct VarintTests {
    static let examples: [(Int32, [UInt8])] = [
        (0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (63, [0x7e]), (-64, [0x7f]),
        (64, [0x80, 0x01]), (100, [0xc8, 0x01]), (126, [0xfc, 0x01]),
    ]

    @Test(arguments: examples)
    func zigZagExamplesFromKafkaFormat(value: Int32, encoded: [UInt8]) throws {
        let out = ByteBuffer()
        out.appendVarint(value)
        #expect(out.array == encoded)
        var cursor = ByteCursor(out.bytes)
        #expect(try cursor.readVarint() == value)
        #expect(cursor.isAtEnd)
    }

    @Test func extremesRoundTrip() throws {
        for value in [Int64.min, Int64.max, 0, -1, 1 << 40, -(1 << 40)] {
            let out = ByteBuffer()
            out.appendVarlong(value)
            #expect(out.count == Varint.size(signed: value))
            var cursor = ByteCursor(out.bytes)
            #expect(try cursor.readVarlong() == value)
        }
        for value in [Int32.min, Int32.max] {
            let out = ByteBuffer()
            out.appendVarint(value)
            #expect(out.count == 5)
            var cursor = ByteCursor(out.bytes)
            #expect(try cursor.readVarint() == value)
        }
    }

    @Test func overlongAndTruncatedVarintsAreErrors() {
        let overlong: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        overlong.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            #expect(throws: FormatError.self) { try cursor.readVarint() }
        }
        let truncated: [UInt8] = [0x80, 0x80]
        truncated.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            #expect(throws: FormatError.truncated("varint")) { try cursor.readVarint() }
        }
    }
}
