import SluiceCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// An open file: a `FileDescriptor` plus the path it was opened by, so every
/// error names the file. Each method wraps exactly one syscall (or a retry
/// loop of one), goes through `FaultInjection`, and retries EINTR.
public final class File: @unchecked Sendable {
    public let descriptor: FileDescriptor
    public let path: String
    private var isOpen = true

    public init(descriptor: FileDescriptor, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        if isOpen { _ = try? descriptor.close() }
    }

    public enum Access: Sendable {
        case readOnly
        case readWrite
        case writeOnly
    }

    /// Opens an existing file. Never follows a symlink in the last component.
    public static func open(_ path: String, _ access: Access = .readOnly) throws -> File {
        try open(path, access, options: [.noFollow, .closeOnExec])
    }

    /// Opens a file for reading, nil if it does not exist (any other failure throws).
    public static func openIfExists(_ path: String) throws -> File? {
        do {
            return try open(path)
        } catch let error as SluiceError where error.reason == .notFound {
            return nil
        }
    }

    /// Creates a file, failing if it exists (`O_EXCL`), with mode 0664 & ~umask.
    public static func create(_ path: String, access: Access = .readWrite) throws -> File {
        try open(path, access, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec], permissions: .defaultFile)
    }

    /// Opens a file for writing, creating it if absent.
    public static func openOrCreate(_ path: String, access: Access = .readWrite, truncate: Bool = false) throws -> File {
        var options: FileDescriptor.OpenOptions = [.create, .noFollow, .closeOnExec]
        if truncate { options.insert(.truncate) }
        return try open(path, access, options: options, permissions: .defaultFile)
    }

    public static func open(
        _ path: String, _ access: Access, options: FileDescriptor.OpenOptions,
        permissions: FilePermissions? = nil
    ) throws -> File {
        let mode: FileDescriptor.AccessMode
        switch access {
        case .readOnly: mode = .readOnly
        case .readWrite: mode = .readWrite
        case .writeOnly: mode = .writeOnly
        }
        do {
            try FaultInjection.check(.open, path: path)
            let fd = try FileDescriptor.open(FilePath(path), mode, options: options, permissions: permissions, retryOnInterrupt: true)
            return File(descriptor: fd, path: path)
        } catch {
            throw errno(error).sluiceError(access == .readOnly ? "open" : "open for writing", path)
        }
    }

    /// Closes now rather than at deinit, reporting errors (a failed close can
    /// mean lost writes on some file systems).
    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        do {
            try FaultInjection.check(.close, path: path)
            try descriptor.close()
        } catch {
            throw errno(error).sluiceError("close", path)
        }
    }

    // MARK: reading

    /// One `pread`: reads up to `buffer.count` bytes at `offset`; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        do {
            try FaultInjection.check(.read, path: path)
            return try descriptor.read(fromAbsoluteOffset: offset, into: buffer, retryOnInterrupt: true)
        } catch {
            throw errno(error).sluiceError("read", path)
        }
    }

    /// Reads until `buffer` is full or end of file; returns the bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// One `read` from the current position (pipes, stdin).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            try FaultInjection.check(.read, path: path)
            return try descriptor.read(into: buffer, retryOnInterrupt: true)
        } catch {
            throw errno(error).sluiceError("read", path)
        }
    }

    /// Reads a whole (small) file to its end. A declared size over `limit` is an
    /// error before anything is allocated; below it the size is not trusted
    /// (files in /proc report 0), and more than `limit` bytes read is an error.
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        let declared = try size()
        guard declared <= Int64(limit) else { throw tooLarge(limit) }
        var bytes = [UInt8](repeating: 0, count: Int(min(max(declared, 4096), Int64(limit) + 1)))
        var count = 0
        while true {
            if count == bytes.count {
                guard count <= limit else { throw tooLarge(limit) }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit + 1 - count))
            }
            let n = try bytes.withUnsafeMutableBytes {
                try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...]), at: Int64(count))
            }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { throw tooLarge(limit) }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// One `read` from the current position that returns nil when a signal
    /// interrupts it (EINTR) instead of retrying, so a reader waiting on a
    /// pipe or terminal can stop on SIGINT or SIGTERM.
    public func readUnlessInterrupted(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        do {
            try FaultInjection.check(.read, path: path)
            return try descriptor.read(into: buffer, retryOnInterrupt: false)
        } catch Errno.interrupted {
            return nil
        } catch {
            throw errno(error).sluiceError("read", path)
        }
    }

    private func tooLarge(_ limit: Int) -> SluiceError {
        .failure(.io, "\(path) is larger than the \(limit)-byte limit for this kind of file")
    }

    // MARK: writing

    /// `pwrite` until all of `buffer` is written at `offset`.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buffer.count {
            do {
                try FaultInjection.check(.write, path: path)
                done += try descriptor.write(
                    toAbsoluteOffset: offset + Int64(done),
                    UnsafeRawBufferPointer(rebasing: buffer[done...]), retryOnInterrupt: true)
            } catch {
                throw errno(error).sluiceError("write", path, needed: Int64(buffer.count - done))
            }
        }
    }

    /// `write` until all of `buffer` is written at the current position
    /// (pipes, stdout). A reader that stopped reading cannot keep SIGINT or
    /// SIGTERM from stopping the writer: a write interrupted before any byte
    /// of `buffer` went out throws. Once some have, the rest follows whatever
    /// signals arrive, as long as the reader takes some of it every
    /// `stalledReaderMillis`: stopping at once would leave a record cut in two
    /// on the reader's side, and writing the buffer again would repeat what it has.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            do {
                try FaultInjection.check(.write, path: path)
                done += try descriptor.write(UnsafeRawBufferPointer(rebasing: buffer[done...]), retryOnInterrupt: false)
            } catch Errno.interrupted {
                guard Interruption.requested else { continue }
                if done == 0 { throw interrupted() }
            } catch {
                throw errno(error).sluiceError("write", path, needed: Int64(buffer.count - done))
            }
            // A signal that lands once some bytes went out cuts a write short (or fails it) instead of stopping it.
            if done > 0 && done < buffer.count && Interruption.requested {
                return try finishInterruptedWrite(UnsafeRawBufferPointer(rebasing: buffer[done...]))
            }
        }
    }

    /// How long a stopping writer waits for a reader that takes nothing.
    static let stalledReaderMillis: Int32 = 5000

    /// The rest of a write a signal interrupted: small writes, each once the
    /// output can take one (`poll`), so no signal and no blocked `write` can
    /// keep it; a reader that takes nothing for `stalledReaderMillis` ends it.
    private func finishInterruptedWrite(_ rest: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < rest.count {
            var ready = pollfd(fd: descriptor.rawValue, events: Int16(POLLOUT), revents: 0)
            let polled = Glibc.poll(&ready, 1, Self.stalledReaderMillis)
            if polled < 0 && Glibc.errno == EINTR { continue }
            if polled == 0 {
                throw SluiceError.failure(
                    .interrupted,
                    """
                    interrupted by \(Interruption.signalName) while writing to \(path), whose reader took \
                    nothing for \(Self.stalledReaderMillis / 1000) s: the last record written may be cut short
                    """
                )
            }
            do {
                done += try descriptor.write(
                    UnsafeRawBufferPointer(rebasing: rest[done..<min(rest.count, done + Int(PIPE_BUF))]), retryOnInterrupt: true)
            } catch {
                throw errno(error).sluiceError("write", path, needed: Int64(rest.count - done))
            }
        }
    }

    private func interrupted() -> SluiceError {
        .failure(.interrupted, "interrupted by \(Interruption.signalName) while writing to \(path)")
    }

    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Shrinks the kernel's buffer of the pipe this file writes to (Linux's
    /// F_SETPIPE_SZ; the default is 64 KiB), so what is written reaches a slow
    /// reader soon. Not a pipe, or not allowed: nothing changes.
    public func limitPipeBuffer(to bytes: Int) {
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which Glibc's module does not export
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        _ = fcntl(descriptor.rawValue, setPipeSize, Int32(bytes))
    }

    // MARK: durability and size

    /// `fsync`: data and metadata.
    public func sync() throws {
        do {
            try FaultInjection.check(.fsync, path: path)
            try retryEINTR { fsync(descriptor.rawValue) }
        } catch {
            throw errno(error).sluiceError("fsync", path)
        }
    }

    /// `fdatasync`: data, and the metadata needed to read it back (the size).
    public func dataSync() throws {
        do {
            try FaultInjection.check(.fdatasync, path: path)
            try retryEINTR { fdatasync(descriptor.rawValue) }
        } catch {
            throw errno(error).sluiceError("fdatasync", path)
        }
    }

    public func truncate(to size: Int64) throws {
        do {
            try FaultInjection.check(.ftruncate, path: path)
            try retryEINTR { ftruncate(descriptor.rawValue, off_t(size)) }
        } catch {
            throw errno(error).sluiceError("truncate", path)
        }
    }

    /// Reserves `length` bytes at `offset` so a later write cannot fail with ENOSPC.
    public func allocate(at offset: Int64, length: Int64) throws {
        do {
            try FaultInjection.check(.fallocate, path: path)
            let result = posix_fallocate(descriptor.rawValue, off_t(offset), off_t(length))
            if result != 0 { throw Errno(rawValue: result) }
        } catch {
            throw errno(error).sluiceError("reserve space in", path, needed: length)
        }
    }

    public func status() throws -> stat {
        var st = stat()
        do {
            try FaultInjection.check(.fstat, path: path)
            try retryEINTR { fstat(descriptor.rawValue, &st) }
        } catch {
            throw errno(error).sluiceError("stat", path)
        }
        return st
    }

    public func size() throws -> Int64 { Int64(try status().st_size) }

    /// Starts writing the file's dirty pages to disk without waiting for them
    /// (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`), so that a later
    /// fsync finds less to do and the disk works while the writer goes on.
    /// Advisory: it makes nothing durable and its failure changes nothing.
    public func startWriteback() {
        _ = Self.syncFileRange?(descriptor.rawValue, 0, 0, 2 /* SYNC_FILE_RANGE_WRITE */)
    }

    /// glibc's `sync_file_range`, which Swift's Glibc module does not export.
    private static let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
    }()

    /// Advises the kernel we read sequentially (bigger read-ahead).
    public func adviseSequential() {
        _ = posix_fadvise(descriptor.rawValue, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    // MARK: advisory locks

    public enum LockKind: Sendable { case shared, exclusive }

    /// One `flock` attempt; returns false when another holder has it.
    /// Locks die with their process, so a killed process never leaves one behind.
    public func tryLock(_ kind: LockKind) throws -> Bool {
        do {
            try FaultInjection.check(.flock, path: path)
            let op = (kind == .exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
            try retryEINTR { flock(descriptor.rawValue, op) }
            return true
        } catch let error where error == .wouldBlock {
            return false
        } catch {
            throw errno(error).sluiceError("lock", path)
        }
    }

    public func unlock() {
        _ = flock(descriptor.rawValue, LOCK_UN)
    }
}

/// Runs a libc call that returns -1 and sets errno on failure, retrying EINTR.
@inline(__always)
func retryEINTR(_ call: () -> Int32) throws(Errno) {
    while true {
        if call() != -1 { return }
        let e = Errno(rawValue: Glibc.errno)
        if e != .interrupted { throw e }
    }
}

/// The errno behind an error thrown by swift-system or a wrapper.
func errno(_ error: any Error) -> Errno {
    (error as? Errno) ?? .ioError
}

extension FilePermissions {
    /// 0664, narrowed by the process umask: never world-writable, whatever the umask.
    public static let defaultFile: FilePermissions = [.ownerReadWrite, .groupReadWrite, .otherRead]
    /// 0775, narrowed by the process umask.
    public static let defaultDirectory: FilePermissions = [.ownerReadWriteExecute, .groupReadWriteExecute, .otherRead, .otherExecute]
}
