/// Standard base64 (RFC 4648, with padding) for binary keys, values and header
/// values in `--json` output and input.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    public static func encodedCount(_ n: Int) -> Int { (n + 2) / 3 * 4 }

    public static func encode(_ input: UnsafeRawBufferPointer, to out: ByteBuffer) {
        let n = input.count
        out.reserve(encodedCount(n))
        alphabet.withUnsafeBufferPointer { a in
            var o = out.base.assumingMemoryBound(to: UInt8.self) + out.count
            var i = 0
            while i + 3 <= n {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                o[0] = a[Int(v >> 18)]; o[1] = a[Int(v >> 12 & 63)]; o[2] = a[Int(v >> 6 & 63)]; o[3] = a[Int(v & 63)]
                o += 4
                i += 3
            }
            if n - i == 1 {
                let v = UInt32(input[i]) << 16
                o[0] = a[Int(v >> 18)]; o[1] = a[Int(v >> 12 & 63)]; o[2] = 61; o[3] = 61
            } else if n - i == 2 {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                o[0] = a[Int(v >> 18)]; o[1] = a[Int(v >> 12 & 63)]; o[2] = a[Int(v >> 6 & 63)]; o[3] = 61
            }
        }
        out.count += encodedCount(n)
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        let out = ByteBuffer(capacity: encodedCount(bytes.count) + 1)
        bytes.withUnsafeBytes { encode($0, to: out) }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// Decodes base64 (padding optional, no white space), appending to `out`.
    /// Returns false on any invalid character or length.
    public static func decode(_ input: UnsafeRawBufferPointer, to out: ByteBuffer) -> Bool {
        var n = input.count
        while n > 0 && input[n - 1] == 61 { n -= 1 }
        guard input.count - n <= 2, n % 4 != 1 else { return false }
        out.reserve(n / 4 * 3 + 3)
        return decodeTable.withUnsafeBufferPointer { t in
            var acc: UInt32 = 0
            var bits = 0
            for i in 0..<n {
                let d = t[Int(input[i])]
                if d == 0xFF { return false }
                acc = acc << 6 | UInt32(d)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                }
            }
            return true
        }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let out = ByteBuffer(capacity: text.utf8.count)
        var text = text
        let ok = text.withUTF8 { decode(UnsafeRawBufferPointer($0), to: out) }
        return ok ? out.array : nil
    }
}
