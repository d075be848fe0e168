import KafkaFormat
import SluiceCore
import TestSupport
import Testing

/// A legacy message's offset is outside its CRC-32: a damaged or forged one
/// is refused as invalid instead of overflowing the arithmetic on it (the
/// reader's next offset, a wrapper's shift to absolute offsets), which trapped.
@Suite struct LegacyOffsetRangeTests {
    @Test(arguments: [Int64.min, -1, Int64.max])
    func anOffsetOutsideTheRangeIsInvalid(offset: Int64) throws {
        let plain = legacyEntry(offset: offset, magic: 1, key: nil, value: Array("v".utf8))
        #expect(
            invalidMessage { _ = try plain.withUnsafeBytes { try LegacyMessage.parse($0) } }?.contains("outside the offset range") == true)
    }

    @Test(arguments: [Int64.min + 2, Int64(3)])
    func aWrapperWhoseInnerOffsetsCannotBeShiftedIsInvalid(offset: Int64) throws {
        // Magic 1: inner offsets 0...5 shifted to end at the wrapper's; from 3 they would start at -2.
        let entry = wrapper(offset: offset, inner: innerSet([0, 5]))
        #expect(invalidMessage { _ = try expand(entry) } != nil)
    }
}
