import SluiceCore
import TestSupport
import Testing

@Suite struct JSONAndBase64Tests {
    @Test func parsesAndSerializesPreservingOrderAndIntegers() throws {
        let text = #"{"b":1,"a":[true,null,-9223372036854775808,1.5,"x\"\n\u00e9\ud83d\ude00"],"c":{}}"#
        let value = try JSONValue.parse(text)
        #expect(value["a"]?.arrayValue?[2].int64Value == Int64.min)
        #expect(value["a"]?.arrayValue?[4].stringValue == "x\"\né😀")
        #expect(value.objectValue?.map(\.0) == ["b", "a", "c"])
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(try JSONValue.parse(value.serialized(pretty: true)) == value)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "tru", "1 2", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: SluiceError.self) { try JSONValue.parse(text) }
    }

    @Test func base64RoundTripsEveryLength() {
        for n in 0..<64 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            let text = Base64.encode(bytes)
            #expect(text.count == (n + 2) / 3 * 4)
            #expect(Base64.decode(text) == bytes)
        }
        #expect(Base64.encode(Array("hello kafka".utf8)) == "aGVsbG8ga2Fma2E=")
        #expect(Base64.decode("not base64!") == nil)
    }

    @Test func utf8Validation() {
        func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { UTF8Validation.isValid($0) } }
        #expect(valid(Array("plain ascii text, longer than eight bytes".utf8)))
        #expect(valid(Array("héllo wörld 😀 ✓".utf8)))
        #expect(!valid([0xC0, 0x80]))
        #expect(!valid([0xED, 0xA0, 0x80]))
        #expect(!valid([0xF5, 0x80, 0x80, 0x80]))
        #expect(!valid(Array("abcdefgh".utf8) + [0xE2, 0x82]))
    }
}

@Suite struct JSONEscapingTests {
    @Test func plainPrefixAgreesWithAByteByByteScan() {
        var random = SeededRandom(seed: 7)
        let alphabet: [UInt8] = Array("abcXYZ 019{}:,".utf8) + [0x22, 0x5C, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xA9]
        for _ in 0..<2000 {
            let length = Int(random.next() % 40)
            let bytes = (0..<length).map { _ in
                random.next() % 5 == 0 ? alphabet[Int(random.next() % UInt64(alphabet.count))] : UInt8(ascii: "a")
            }
            let naive = bytes.firstIndex { $0 >= 0x80 || $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } ?? bytes.count
            #expect(bytes.withUnsafeBytes { JSONText.plainASCIIPrefix($0) } == naive, "\(bytes)")
        }
    }

    @Test func escapedStringsParseBack() throws {
        for text in ["plain", "with \"quotes\" and \\ backslash", "tab\tnew\nline\u{1}", "héllo 😀", ""] {
            let out = ByteBuffer()
            JSONText.appendString(text, to: out)
            #expect(try JSONValue.parse(out.bytes) == .string(text))
        }
    }
}
