import SluiceCore

/// POSIX tar (IEEE 1003.1-2001 "ustar", with pax extended headers for names
/// longer than 100 bytes and sizes of 8 GiB or more), the container of sluice
/// archives, so `tar` lists and unpacks them.
enum Tar {
    static let blockSize = 512
    /// GNU and BSD tar write archives in records of 20 blocks.
    static let recordSize = 20 * blockSize

    /// Entry types (the header's typeflag byte).
    enum EntryType: UInt8, Sendable {
        case file = 0x30  // '0' (NUL in old archives)
        case hardLink = 0x31  // '1'
        case symbolicLink = 0x32  // '2'
        case characterDevice = 0x33
        case blockDevice = 0x34
        case directory = 0x35  // '5'
        case fifo = 0x36
        case contiguousFile = 0x37
        case paxExtended = 0x78  // 'x': pax records for the next entry
        case paxGlobal = 0x67  // 'g': pax records for the whole archive
        case gnuLongName = 0x4C  // 'L': the next entry's name (GNU format)
        case gnuLongLink = 0x4B  // 'K': the next entry's link name (GNU format)
    }

    /// The header block(s) for a regular file: a pax extended header first
    /// when the name or size does not fit ustar's fields.
    static func header(name: String, size: Int64, mtime: Int64) -> [UInt8] {
        var pax: [(String, String)] = []
        if name.utf8.count > 100 { pax.append(("path", name)) }
        if size >= maxOctalSize { pax.append(("size", String(size))) }
        var out: [UInt8] = []
        if !pax.isEmpty {
            let records = Array(pax.map { paxRecord($0.0, $0.1) }.joined().utf8)
            out += block(
                name: "PaxHeaders/" + String(decoding: name.utf8.suffix(80), as: UTF8.self), size: Int64(records.count),
                type: .paxExtended, mtime: mtime)
            out += records
            out += [UInt8](repeating: 0, count: padding(Int64(records.count)))
        }
        out += block(
            name: String(decoding: name.utf8.suffix(100), as: UTF8.self), size: size < maxOctalSize ? size : 0, type: .file,
            mtime: mtime)
        return out
    }

    /// Zero bytes that complete an entry of `size` bytes to a block boundary.
    static func padding(_ size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }

    static let maxOctalSize: Int64 = 1 << 33

    private static func block(name: String, size: Int64, type: EntryType, mtime: Int64) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: blockSize)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, byte) in text.utf8.prefix(width).enumerated() { b[offset + i] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(max(0, mtime), at: 136, width: 12)
        b[156] = type.rawValue
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        octal(0, at: 329, width: 8)
        octal(0, at: 337, width: 8)
        for i in 148..<156 { b[i] = 0x20 }
        let sum = b.reduce(0) { $0 + Int64($1) }
        octal(sum, at: 148, width: 7)
        return b
    }

    /// One pax record, "<length> <key>=<value>\n", where the length counts itself.
    private static func paxRecord(_ key: String, _ value: String) -> String {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length { length = String(length).utf8.count + body.utf8.count }
        return String(length) + body
    }
}

/// Writes a tar stream to a sink: entries are announced with their size,
/// then their bytes follow in any number of pieces.
final class TarWriter {
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var remaining: Int64 = 0
    private var entrySize: Int64 = 0
    private(set) var bytesWritten: Int64 = 0
    private static let zeros = [UInt8](repeating: 0, count: Tar.recordSize)

    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.sink = sink
    }

    func beginFile(_ name: String, size: Int64, mtime: Int64) throws {
        precondition(remaining == 0, "the previous entry is incomplete")
        try emit(Tar.header(name: name, size: size, mtime: mtime))
        remaining = size
        entrySize = size
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(Int64(bytes.count) <= remaining, "more bytes than the entry declared")
        remaining -= Int64(bytes.count)
        try sink(bytes)
        bytesWritten += Int64(bytes.count)
    }

    func endFile() throws {
        precondition(remaining == 0, "fewer bytes than the entry declared")
        try emit(Array(Self.zeros.prefix(Tar.padding(entrySize))))
    }

    /// Writes a whole small file.
    func file(_ name: String, _ bytes: [UInt8], mtime: Int64) throws {
        try beginFile(name, size: Int64(bytes.count), mtime: mtime)
        try bytes.withUnsafeBytes { try write($0) }
        try endFile()
    }

    /// The two zero blocks that end an archive, then zeros to a whole record.
    func finish() throws {
        let end = bytesWritten + Int64(2 * Tar.blockSize)
        let record = Int64(Tar.recordSize)
        try emit(Array(Self.zeros.prefix(2 * Tar.blockSize)))
        try emit(Array(Self.zeros.prefix(Int((record - end % record) % record))))
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink($0) }
        bytesWritten += Int64(bytes.count)
    }
}

/// What is wrong with an archive, before the reader adds which archive.
struct ArchiveDamage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An entry as the reader announces it.
struct TarEntry {
    var name: String
    var size: Int64
    var type: Tar.EntryType
}

/// Reads a tar stream pushed to it in pieces of any size, calling the
/// handlers for each entry and its bytes. It refuses anything a sluice
/// archive cannot hold: links, devices, names that are absolute or climb out
/// with `..`, damaged headers, and numbers it cannot parse. It never
/// allocates from a size read from the stream: entry data is passed through,
/// and the few things it gathers (headers, pax records, GNU long names) are
/// bounded.
final class TarReader {
    static let maxPaxBytes = 64 << 10

    var onEntry: (TarEntry) throws -> Void = { _ in }
    var onData: (UnsafeRawBufferPointer) throws -> Void = { _ in }
    var onEntryEnd: () throws -> Void = {}

    private enum State {
        case header
        /// Gathering a pax header or GNU long name (`remaining` bytes left, then padding).
        case metadata(Tar.EntryType, remaining: Int64, padding: Int)
        case data(remaining: Int64, padding: Int)
        case padding(Int)
        /// After the first zero block.
        case endBlock
        case ended
    }

    private var state: State = .header
    private let block = ByteBuffer(capacity: Tar.blockSize)
    private let metadata = ByteBuffer(capacity: 1024)
    private var paxPath: String?
    private var paxSize: Int64?
    /// Bytes consumed so far, for messages.
    private(set) var position: Int64 = 0
    private var entryName = ""

    var isAtEnd: Bool { if case .ended = state { return true } else { return false } }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        var at = 0
        while at < bytes.count {
            let available = bytes.count - at
            switch state {
            case .header, .endBlock:
                let take = min(Tar.blockSize - block.count, available)
                block.append(UnsafeRawBufferPointer(rebasing: bytes[at..<at + take]))
                at += take
                if block.count == Tar.blockSize {
                    try headerBlock()
                    block.clear()
                }
            case .metadata(let type, let remaining, let padding):
                let take = Int(min(Int64(available), remaining))
                metadata.append(UnsafeRawBufferPointer(rebasing: bytes[at..<at + take]))
                at += take
                if remaining == Int64(take) {
                    try applyMetadata(type)
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .metadata(type, remaining: remaining - Int64(take), padding: padding)
                }
            case .data(let remaining, let padding):
                let take = Int(min(Int64(available), remaining))
                if take > 0 { try onData(UnsafeRawBufferPointer(rebasing: bytes[at..<at + take])) }
                at += take
                if remaining == Int64(take) {
                    try onEntryEnd()
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .data(remaining: remaining - Int64(take), padding: padding)
                }
            case .padding(let left):
                let take = min(left, available)
                at += take
                state = left == take ? .header : .padding(left - take)
            case .ended:
                // Only zeros may follow the end (record padding).
                let rest = UnsafeRawBufferPointer(rebasing: bytes[at...])
                if rest.contains(where: { $0 != 0 }) { throw ArchiveDamage("data follows the end of the tar archive") }
                at = bytes.count
            }
        }
        position += Int64(bytes.count)
    }

    /// Checks the stream ended cleanly.
    func finish() throws {
        switch state {
        case .ended:
            return
        case .header where block.isEmpty && position == 0:
            throw ArchiveDamage("it holds no tar data")
        case .data:
            throw ArchiveDamage("it ends inside entry '\(entryName.printable)'")
        default:
            throw ArchiveDamage("it ends before the end-of-archive marker")
        }
    }

    private func headerBlock() throws {
        let raw = block.bytes
        if raw.allSatisfy({ $0 == 0 }) {
            if case .endBlock = state { state = .ended } else { state = .endBlock }
            return
        }
        if case .endBlock = state { throw ArchiveDamage("a lone zero block is followed by more entries") }
        try verifyChecksum(raw)
        let magic = Array(raw[257..<263])
        guard magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8) else {
            throw ArchiveDamage("entry header at byte \(position) is not a POSIX tar header")
        }
        guard let type = Tar.EntryType(rawValue: raw[156] == 0 ? Tar.EntryType.file.rawValue : raw[156]) else {
            throw ArchiveDamage("entry header at byte \(position) has unknown type '\(Character(UnicodeScalar(raw[156])))'")
        }
        var name = paxPath ?? Self.string(raw, 0, 100)
        if paxPath == nil, magic == Array("ustar\0".utf8) {
            let prefix = Self.string(raw, 345, 155)
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        let size = try paxSize ?? Self.number(raw, 124, 12, field: "size")
        paxPath = nil
        paxSize = nil
        switch type {
        case .paxExtended, .paxGlobal, .gnuLongName:
            guard size <= Int64(Self.maxPaxBytes) else {
                throw ArchiveDamage(
                    """
                    a \(type == .gnuLongName ? "long-name" : "pax") header declares \
                    \(size) bytes, more than the \(Self.maxPaxBytes)-byte limit
                    """
                )
            }
            metadata.clear()
            state = size == 0 ? .header : .metadata(type, remaining: size, padding: Tar.padding(size))
            if size == 0 { try applyMetadata(type) }
            return
        case .hardLink, .symbolicLink, .gnuLongLink:
            throw ArchiveDamage(
                """
                entry '\(name.printable)' is a \(type == .symbolicLink ? "symbolic" : "hard") \
                link; a sluice archive holds only regular files
                """
            )
        case .characterDevice, .blockDevice, .fifo:
            throw ArchiveDamage("entry '\(name.printable)' is a device or FIFO; a sluice archive holds only regular files")
        case .file, .contiguousFile, .directory:
            break
        }
        try Self.checkPath(name)
        entryName = name
        if type == .directory {
            guard size == 0 else { throw ArchiveDamage("directory entry '\(name.printable)' declares \(size) bytes") }
            return
        }
        try onEntry(TarEntry(name: name, size: size, type: type))
        if size == 0 {
            try onEntryEnd()
        } else {
            state = .data(remaining: size, padding: Tar.padding(size))
        }
    }

    private func applyMetadata(_ type: Tar.EntryType) throws {
        let bytes = metadata.array
        metadata.clear()
        switch type {
        case .gnuLongName:
            paxPath = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        case .paxExtended:
            for (key, value) in try Self.paxRecords(bytes) {
                switch key {
                case "path": paxPath = value
                case "size":
                    guard let size = Int64(value), size >= 0 else { throw ArchiveDamage("pax size '\(value.printable)' is not a size") }
                    paxSize = size
                case "linkpath": throw ArchiveDamage("an entry names a link target; a sluice archive holds only regular files")
                default: continue
                }
            }
        default:
            _ = try Self.paxRecords(bytes)
        }
    }

    static func paxRecords(_ bytes: [UInt8]) throws -> [(String, String)] {
        var records: [(String, String)] = []
        var at = 0
        while at < bytes.count {
            guard let space = bytes[at...].firstIndex(of: 0x20), let length = Int(String(decoding: bytes[at..<space], as: UTF8.self)),
                length > space - at, at + length <= bytes.count, bytes[at + length - 1] == 0x0A,
                let eq = bytes[(space + 1)..<(at + length)].firstIndex(of: 0x3D)
            else {
                throw ArchiveDamage("a pax header is malformed")
            }
            records.append(
                (
                    String(decoding: bytes[(space + 1)..<eq], as: UTF8.self),
                    String(decoding: bytes[(eq + 1)..<(at + length - 1)], as: UTF8.self)
                ))
            at += length
        }
        return records
    }

    /// Refuses names that could leave the directory they are unpacked in.
    static func checkPath(_ name: String) throws {
        if name.isEmpty { throw ArchiveDamage("an entry has an empty name") }
        if name.hasPrefix("/") { throw ArchiveDamage("entry '\(name.printable)' has an absolute path") }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw ArchiveDamage("entry '\(name.printable)' climbs out of the archive with '..'")
        }
    }

    private func verifyChecksum(_ raw: UnsafeRawBufferPointer) throws {
        let stored = try Self.number(raw, 148, 8, field: "checksum")
        var sum: Int64 = 0
        for (i, byte) in raw.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int64(byte) }
        guard sum == stored else { throw ArchiveDamage("entry header at byte \(position) fails its checksum (the tar stream is damaged)") }
    }

    private static func string(_ raw: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> String {
        let field = raw[offset..<offset + width]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field: digits, optionally padded with spaces and ended by a space or NUL.
    private static func number(_ raw: UnsafeRawBufferPointer, _ offset: Int, _ width: Int, field: String) throws -> Int64 {
        let bytes = raw[offset..<offset + width]
        if let first = bytes.first, first & 0x80 != 0 {
            throw ArchiveDamage("a header's \(field) field is in GNU's binary form, which sluice archives never use")
        }
        let text = String(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimming([" "]))
        guard !text.isEmpty, text.utf8.count <= 12, text.allSatisfy({ ("0"..."7").contains($0) }), let value = Int64(text, radix: 8) else {
            throw ArchiveDamage("a header's \(field) field '\(text.printable)' is not an octal number")
        }
        return value
    }
}
