import Foundation
import SluiceCore
import TestSupport

/// Stores and archives for the archive end-to-end tests, built with the CLI.
enum ArchiveStore {
    /// A data directory with topic `orders` (3 partitions, small segments)
    /// holding `records` keyed JSON records.
    static func make(_ path: String, records: Int = 3000, batchSize: Int = 4096) throws {
        try expectSuccess(SluiceProcess.run(["topic", "create", "orders", "-p", "3", "-c", "segment.bytes=65536"], dataDir: path))
        var text = ""
        text.reserveCapacity(records * 64)
        for i in 0..<records { text += "customer-\(i % 97)|{\"order\":\(i),\"amount\":\(i % 500).\(i % 100)}\n" }
        try expectSuccess(
            SluiceProcess.run(["produce", "orders", "-K", "|", "--batch-size", String(batchSize)], dataDir: path, stdin: Data(text.utf8)))
    }

    static func export(_ dataDir: String, to archive: String, _ extra: [String] = []) throws {
        try expectSuccess(SluiceProcess.run(["export", "orders", "-o", archive, "--quiet"] + extra, dataDir: dataDir))
    }

    @discardableResult
    static func expectSuccess(_ result: SluiceProcess.Result) throws -> SluiceProcess.Result {
        guard result.status == 0 else { throw Failure("sluice exited \(result.status): \(result.err)") }
        return result
    }

    /// Every file under a data directory with its bytes: lock files and the
    /// staging area (which the next command cleans) left out.
    static func snapshot(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: path) {
            var isDir: ObjCBool = false
            let full = path + "/" + sub
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
                !sub.hasSuffix(".lock"), !sub.hasPrefix(".sluice/staging/")
            else { continue }
            out[sub] = try Data(contentsOf: URL(fileURLWithPath: full))
        }
        return out
    }

    static func copy(_ from: String, to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Runs a shell pipeline (for `|` between processes), returning status and stderr.
    static func shell(_ command: String, environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// The tar stream of an archive (through the zstd CLI), and back.
    static func decompress(_ archive: String) throws -> [UInt8] {
        let tarPath = archive + ".tar"
        let result = try shell("zstd -dcq '\(archive)' > '\(tarPath)'")
        guard result.status == 0 else { throw Failure("zstd -d failed: \(result.err)") }
        defer { try? FileManager.default.removeItem(atPath: tarPath) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: tarPath)))
    }

    static func compress(_ tar: [UInt8], to archive: String) throws {
        let tarPath = archive + ".tar"
        try Data(tar).write(to: URL(fileURLWithPath: tarPath))
        defer { try? FileManager.default.removeItem(atPath: tarPath) }
        let r = try shell("zstd -q -f -3 '\(tarPath)' -o '\(archive)'")
        guard r.status == 0 else { throw Failure(r.err) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Edits of a tar stream's entries, for building hostile archives: each
/// keeps the header checksum valid so the reader gets past it.
struct TarEdit {
    var bytes: [UInt8]

    /// Header offsets of the entries (pax headers included), in order.
    var headers: [Int] {
        var out: [Int] = []
        var at = 0
        while at + 512 <= bytes.count, bytes[at..<at + 512].contains(where: { $0 != 0 }) {
            out.append(at)
            let size = Int(String(decoding: bytes[(at + 124)..<(at + 135)], as: UTF8.self), radix: 8) ?? 0
            at += 512 + (size + 511) / 512 * 512
        }
        return out
    }

    func name(at header: Int) -> String { String(decoding: bytes[header..<header + 100].prefix { $0 != 0 }, as: UTF8.self) }

    /// The header of the entry named `name`.
    func header(named name: String) -> Int { headers.first { self.name(at: $0) == name }! }

    func dataRange(at header: Int) -> Range<Int> {
        let size = Int(String(decoding: bytes[(header + 124)..<(header + 135)], as: UTF8.self), radix: 8)!
        return (header + 512)..<(header + 512 + size)
    }

    mutating func set(_ header: Int, name: String? = nil, type: UInt8? = nil, linkName: String? = nil, size: String? = nil) {
        if let name { put(name, header, 100) }
        if let type { bytes[header + 156] = type }
        if let linkName { put(linkName, header + 157, 100) }
        if let size { put(size, header + 124, 12) }
        for i in 148..<156 { bytes[header + i] = 0x20 }
        let sum = bytes[header..<header + 512].reduce(0) { $0 + Int($1) }
        put(String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8), header + 148, 7)
    }

    private mutating func put(_ text: String, _ offset: Int, _ width: Int) {
        for i in 0..<width { bytes[offset + i] = 0 }
        for (i, b) in text.utf8.prefix(width).enumerated() { bytes[offset + i] = b }
    }

    /// Replaces an entry's data (its size and padding follow).
    mutating func replaceData(named name: String, with data: [UInt8]) {
        let header = header(named: name)
        let old = dataRange(at: header)
        let padded = old.lowerBound..<(old.lowerBound + (old.count + 511) / 512 * 512)
        bytes.replaceSubrange(padded, with: data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512))
        set(header, size: String(repeating: "0", count: 11 - String(data.count, radix: 8).count) + String(data.count, radix: 8))
    }

    /// Rewrites a JSON entry (manifest.json, summary.json) through `change`.
    mutating func editJSON(_ name: String, _ change: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(bytes[dataRange(at: header(named: name))])) as! [String: Any]
        change(&object)
        replaceData(named: name, with: Array(try JSONSerialization.data(withJSONObject: object)))
    }

    /// Replaces the first occurrence of `old` inside an entry's data with `new` of the same length.
    mutating func replace(_ old: String, with new: String, inEntry name: String) {
        precondition(old.utf8.count == new.utf8.count)
        let range = dataRange(at: header(named: name))
        let needle = Array(old.utf8)
        let data = Array(bytes[range])
        let at = (0...(data.count - needle.count)).first { Array(data[$0..<$0 + needle.count]) == needle }!
        bytes.replaceSubrange((range.lowerBound + at)..<(range.lowerBound + at + needle.count), with: Array(new.utf8))
    }
}
