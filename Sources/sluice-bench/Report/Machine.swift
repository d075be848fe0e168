import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Reads small text files, including /proc files (whose size reads as 0).
enum TextFile {
    static func read(_ path: String, limit: Int = 1 << 20) throws -> String {
        let file = try File.open(path)
        defer { try? file.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count < limit {
            let n = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The machine a run measured, read at run time, for the report.
struct Machine {
    var cpu: String
    var memory: String
    var disk: String
    var kernel: String
    var load: String

    /// Describes this machine; `path` is where the benchmark data lives (its disk is described).
    static func current(dataPath: String) -> Machine {
        Machine(
            cpu: cpu(), memory: memory(), disk: disk(holding: dataPath), kernel: kernel(),
            load: ((try? TextFile.read("/proc/loadavg")) ?? "").split(separator: " ").prefix(3).joined(separator: " "))
    }

    private static func cpu() -> String {
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let model = field("model name", in: (try? TextFile.read("/proc/cpuinfo")) ?? "") ?? "unknown CPU"
        return "\(cores) cores, \(model)"
    }

    private static func memory() -> String {
        let total = field("MemTotal", in: (try? TextFile.read("/proc/meminfo")) ?? "")
        let kilobytes = total.flatMap { Double($0.split(separator: " ").first ?? "") } ?? 0
        return Format.fixed(kilobytes / 1_048_576, 1) + " GiB"
    }

    private static func kernel() -> String {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(names.sysname)) \(text(names.release)) \(text(names.machine))"
    }

    /// The file system holding `path` (longest mount point prefix), its device,
    /// whether that device rotates, and its size.
    private static func disk(holding path: String) -> String {
        let absolute =
            realpath(path, nil).map { pointer -> String in
                defer { free(pointer) }
                return String(cString: pointer)
            } ?? path
        let mounts = ((try? TextFile.read("/proc/self/mounts")) ?? "").split(separator: "\n").map { $0.split(separator: " ") }
        let mount = mounts.filter { $0.count > 2 && (absolute == $0[1] || absolute.hasPrefix($0[1] == "/" ? "/" : $0[1] + "/")) }
            .max { $0[1].count < $1[1].count }
        guard let mount else { return "unknown" }
        let device = String(mount[0])
        let name = FileSystem.lastComponent(of: device)
        let rotational = (try? TextFile.read("/sys/class/block/\(name)/queue/rotational"))?.hasPrefix("1")
        var space = statvfs()
        let size = statvfs(absolute, &space) == 0 ? Double(space.f_blocks) * Double(space.f_frsize) : 0
        let kind = rotational.map { $0 ? "rotating" : "non-rotating" } ?? "unknown kind"
        return "\(device) (\(kind)), \(mount[2]) mounted on \(mount[1]), \(Format.fixed(size / 1e9, 0)) GB"
    }

    private static func field(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
        }
        return nil
    }
}
