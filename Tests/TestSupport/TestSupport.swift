import Foundation
import SluiceCore
import SluiceSystem

/// A directory removed when the value is deinitialised, unless the
/// environment sets SLUICE_KEEP_TEMPORARIES (to look at a failed trial's files).
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String
    public static let kept = ProcessInfo.processInfo.environment["SLUICE_KEEP_TEMPORARIES"] != nil

    public init(_ label: String = "sluice-test") {
        var template = Array("\(NSTemporaryDirectory())/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    deinit { if !Self.kept { try? FileSystem.removeTree(path) } }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// The shared real-Kafka fixtures (../shared/fixtures/kafka from the package root).
public enum Fixtures {
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("package root not found from \(#filePath)")
    }()

    public static let kafka = packageRoot + "/../shared/fixtures/kafka"

    public static func path(_ relative: String) -> String { kafka + "/" + relative }

    public static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    /// Decodes a kafka-go `.hex` fixture (hex text, white space ignored).
    public static func hex(_ relative: String) throws -> [UInt8] {
        let text = try String(contentsOfFile: path(relative), encoding: .utf8).filter { $0.isHexDigit }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

/// Captures `Diagnostics` warnings for the duration of `body`.
public func capturingWarnings<T>(_ body: () throws -> T) rethrows -> (T, [String]) {
    let box = WarningBox()
    let value = try Diagnostics.$taskSink.withValue({ message in box.append(message) }) { try body() }
    return (value, box.messages)
}

final class WarningBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ message: String) { lock.lock(); stored.append(message); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}

/// A deterministic pseudo-random generator (SplitMix64) so seeded tests repeat exactly.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How many times longer than usual a test waits for a process:
/// `SLUICE_TEST_SLOWDOWN` (`make sanitize` sets it, since sanitized debug
/// binaries run many times slower), else 1.
public let testSlowdown: Double = Double(ProcessInfo.processInfo.environment["SLUICE_TEST_SLOWDOWN"] ?? "") ?? 1

public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `interval` seconds until it holds, or throws
/// `TimedOut` once `seconds` (times `testSlowdown`) have passed.
public func waitUntil(
    _ seconds: Double, _ what: String, every interval: Double = 0.1,
    _ condition: () throws -> Bool
) throws {
    let limit = seconds * testSlowdown
    let deadline = Date().addingTimeInterval(limit)
    while try !condition() {
        if Date() > deadline { throw TimedOut(description: "timed out after \(limit)s waiting for \(what)") }
        usleep(useconds_t(interval * 1_000_000))
    }
}

/// A shell prefix that caps the memory of the command after it at `mebibytes`:
/// `ulimit -v`, or, when `make sanitize` runs the suite
/// (`SLUICE_TEST_SANITIZER`, whose shadow memory needs terabytes of address
/// space), the sanitizer's own cap on any one allocation.
public func memoryLimitPrefix(mebibytes: Int) -> String {
    switch ProcessInfo.processInfo.environment["SLUICE_TEST_SANITIZER"] {
    case "address": return "export ASAN_OPTIONS=\"$ASAN_OPTIONS:max_allocation_size_mb=\(mebibytes)\"; "
    case "thread": return "export TSAN_OPTIONS=\"$TSAN_OPTIONS:max_allocation_size_mb=\(mebibytes)\"; "
    default: return "ulimit -v \(mebibytes * 1024); "
    }
}
