import SluiceCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Path-level syscalls: directories, renames, removal, and the durable-replace
/// idiom. Each wraps one syscall and names the path in its error.
public enum FileSystem {
    public enum Kind: Sendable, Equatable { case file, directory, symlink, other }

    /// `lstat`: what is at `path`, without following a final symlink; nil if nothing.
    public static func kind(of path: String) throws -> Kind? {
        var st = stat()
        do {
            try FaultInjection.check(.lstat, path: path)
            try retryEINTR { lstat(path, &st) }
        } catch let error where error == .noSuchFileOrDirectory || error == .notDirectory {
            return nil
        } catch {
            throw errno(error).sluiceError("stat", path)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Whether anything is at `path`. Throws when `lstat` fails otherwise
    /// than "no such file": an I/O error is not an absence, and recovery that
    /// took it for one would skip (and then remove) what it was to keep.
    public static func exists(_ path: String) throws -> Bool { try kind(of: path) != nil }

    public static func isDirectory(_ path: String) throws -> Bool { try kind(of: path) == .directory }

    /// The size of a regular file (`lstat`), nil if absent.
    public static func fileSize(_ path: String) throws -> Int64? {
        var st = stat()
        do {
            try FaultInjection.check(.lstat, path: path)
            try retryEINTR { lstat(path, &st) }
        } catch let error where error == .noSuchFileOrDirectory {
            return nil
        } catch {
            throw errno(error).sluiceError("stat", path)
        }
        return Int64(st.st_size)
    }

    /// The names in a directory, excluding `.` and `..`, unsorted.
    public static func list(_ path: String) throws -> [String] {
        do {
            try FaultInjection.check(.readdir, path: path)
        } catch {
            throw errno(error).sluiceError("list", path)
        }
        guard let dir = opendir(path) else { throw Errno(rawValue: Glibc.errno).sluiceError("list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            // readdir returns NULL both at the end and on an error: only errno tells
            // them apart, and a listing cut short must never pass for a whole one.
            Glibc.errno = 0
            guard let entry = readdir(dir) else {
                if Glibc.errno != 0 { throw Errno(rawValue: Glibc.errno).sluiceError("list", path) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `mkdir`; succeeds if a directory (not a symlink) is already there.
    public static func makeDirectory(_ path: String) throws {
        do {
            try FaultInjection.check(.mkdir, path: path)
            try retryEINTR { mkdir(path, FilePermissions.defaultDirectory.rawValue) }
        } catch let error where error == .fileExists {
            guard try kind(of: path) == .directory else {
                throw SluiceError.failure(.io, "cannot create directory \(path): something other than a directory is there")
            }
        } catch {
            throw errno(error).sluiceError("create directory", path)
        }
    }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            try makeDirectory(prefix)
            prefix += "/"
        }
    }

    /// `rename`: atomic replacement of `to` by `from` on one file system.
    public static func rename(_ from: String, to: String) throws {
        do {
            try FaultInjection.check(.rename, path: from)
            try retryEINTR { Glibc.rename(from, to) }
        } catch {
            throw errno(error).sluiceError("rename \(from) to", to)
        }
    }

    /// `unlink`; succeeds if already gone.
    public static func removeFile(_ path: String) throws {
        do {
            try FaultInjection.check(.unlink, path: path)
            try retryEINTR { unlink(path) }
        } catch let error where error == .noSuchFileOrDirectory {
            return
        } catch {
            throw errno(error).sluiceError("remove", path)
        }
    }

    /// `rmdir` of an empty directory; succeeds if already gone.
    public static func removeDirectory(_ path: String) throws {
        do {
            try FaultInjection.check(.rmdir, path: path)
            try retryEINTR { rmdir(path) }
        } catch let error where error == .noSuchFileOrDirectory {
            return
        } catch {
            throw errno(error).sluiceError("remove directory", path)
        }
    }

    /// Removes a directory tree. Symlinks inside it are removed, never followed.
    public static func removeTree(_ path: String) throws {
        guard let kind = try kind(of: path) else { return }
        if kind != .directory {
            try removeFile(path)
            return
        }
        for name in try list(path) {
            try removeTree(path + "/" + name)
        }
        try removeDirectory(path)
    }

    /// fsyncs a directory, making the creations, renames and removals in it durable.
    public static func syncDirectory(_ path: String) throws {
        let dir = try File.open(path, .readOnly, options: [.directory, .closeOnExec])
        try dir.sync()
        try dir.close()
    }

    /// Writes `bytes` to `path` durably and atomically: a temporary file in the
    /// same directory, fsync, rename over the target, fsync the directory. A
    /// reader sees the old content or the new, never a mix.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let directory = parent(of: path)
        let temporary = "\(temporaryPrefix(of: path))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try File.create(temporary, access: .writeOnly)
            try file.write(bytes, at: 0)
            try file.sync()
            try file.close()
            try rename(temporary, to: path)
        } catch {
            try? removeFile(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Where temporary files standing in for `path` start: its name cut to 200
    /// bytes plus `.tmp-`, so the name of a temporary file fits the 255-byte
    /// limit even for the longest names (a 249-character topic's metadata).
    public static func temporaryPrefix(of path: String) -> String {
        let name = lastComponent(of: path)
        let cut = name.utf8.count > 200 ? String(decoding: Array(name.utf8.prefix(200)), as: UTF8.self) : name
        return "\(path.dropLast(name.count))\(cut).tmp-"
    }

    /// A path a user gave, which may be or pass through a symbolic link: with
    /// every link resolved when it does (`resolvingLinks`), otherwise as given,
    /// so messages show the path the user wrote.
    public static func followingUserLinks(_ path: String) -> String {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if (try? kind(of: prefix)) == .symlink { return resolvingLinks(path) }
        }
        return path
    }

    /// `realpath`: `path` with every symbolic link and `.`/`..` resolved.
    /// Components that do not exist yet are kept as given after the resolved part.
    public static func resolvingLinks(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let failure = errno
        let parent = parent(of: path), name = lastComponent(of: path)
        guard failure == ENOENT, parent != path, !name.isEmpty, name != ".", name != ".." else { return path }
        let base = resolvingLinks(parent)
        return base == "/" ? "/" + name : base + "/" + name
    }

    /// Removes the temporary files standing in for `path` (`temporaryPrefix`
    /// plus a process id) whose process is gone: what a killed writer left.
    /// Those of a live process, a concurrent writer, are kept.
    public static func removeAbandonedTemporaries(of path: String) throws {
        let prefix = lastComponent(of: temporaryPrefix(of: path))
        for name in try listIfExists(parent(of: path)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, !processExists(pid) else { continue }
            try removeFile(parent(of: path) + "/" + name)
        }
    }

    /// `kill(pid, 0)`: whether a process with this id exists (EPERM: it does, another user's).
    public static func processExists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Reads a whole small file, nil if it does not exist.
    public static func readIfExists(_ path: String, limit: Int = 64 << 20) throws -> [UInt8]? {
        try File.openIfExists(path)?.readAll(limit: limit)
    }

    /// The names in a directory (as `list`), nil if it does not exist.
    public static func listIfExists(_ path: String) throws -> [String]? {
        do {
            return try list(path)
        } catch let error as SluiceError where error.reason == .notFound {
            return nil
        }
    }

    /// Bytes available to unprivileged users on the file system holding `path`
    /// (or its nearest existing ancestor).
    public static func freeBytes(near path: String) -> Int64? {
        var candidate = path
        while !candidate.isEmpty {
            var st = statvfs()
            if statvfs(candidate, &st) == 0 { return Int64(st.f_bavail) * Int64(st.f_frsize) }
            let up = parent(of: candidate)
            if up == candidate { break }
            candidate = up
        }
        return nil
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
