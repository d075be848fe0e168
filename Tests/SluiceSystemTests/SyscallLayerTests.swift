import Foundation
import SluiceCore
import SystemPackage
import TestSupport
import Testing

@testable import SluiceSystem

@Suite(.serialized) struct SyscallLayerTests {
    @Test func faultRulesParseFromTheEnvironmentSyntax() {
        let rule = FaultInjection.parseRule("write:ENOSPC:after=3:times=2:path=.log")
        #expect(rule?.call == .write && rule?.errno == .noSpace && rule?.after == 3 && rule?.times == 2 && rule?.pathContains == ".log")
        #expect(FaultInjection.parseRule("bogus:ENOSPC") == nil)
        #expect(FaultInjection.parseRule("write:EWHAT") == nil)
    }

    @Test func injectedFaultsHitOnlyTheirCallsAndPaths() throws {
        let dir = TemporaryDirectory("sluice-faults")
        let file = try File.create(dir.file("a.log"))
        FaultInjection.install([.init(call: .write, errno: .noSpace, after: 1, times: 1, pathContains: dir.path)])
        defer { FaultInjection.reset() }
        try file.write([1, 2, 3], at: 0)
        let error = #expect(throws: SluiceError.self) { try file.write([4], at: 3) }
        #expect(error?.reason == .noSpace)
        #expect(error?.message.contains(dir.file("a.log")) == true)
        #expect(error?.remedy?.contains("free space") == true)
        try file.write([4], at: 3)
        #expect(try file.readAll() == [1, 2, 3, 4])
    }

    @Test func writeAtomicallyReplacesWholeFilesOnly() throws {
        let dir = TemporaryDirectory()
        try FileSystem.writeAtomically(dir.file("doc"), Array("one".utf8))
        try FileSystem.writeAtomically(dir.file("doc"), Array("two".utf8))
        #expect(try FileSystem.readIfExists(dir.file("doc")) == Array("two".utf8))
        #expect(try FileSystem.list(dir.path) == ["doc"])
        FaultInjection.install([.init(call: .rename, errno: .noSpace, pathContains: dir.path)])
        defer { FaultInjection.reset() }
        #expect(throws: SluiceError.self) { try FileSystem.writeAtomically(dir.file("doc"), Array("three".utf8)) }
        FaultInjection.reset()
        #expect(try FileSystem.readIfExists(dir.file("doc")) == Array("two".utf8))
        #expect(try FileSystem.list(dir.path) == ["doc"], "the temporary file is removed")
    }

    @Test func removeTreeNeverFollowsSymlinks() throws {
        let outside = TemporaryDirectory()
        try FileSystem.writeAtomically(outside.file("keep"), [7])
        let dir = TemporaryDirectory()
        try FileSystem.makeDirectories(dir.file("a/b"))
        #expect(symlink(outside.path, dir.file("a/b/link")) == 0)
        try FileSystem.removeTree(dir.file("a"))
        #expect(try !FileSystem.exists(dir.file("a")))
        #expect(try FileSystem.readIfExists(outside.file("keep")) == [7])
    }

    @Test func filesAreNeverCreatedWorldWritable() throws {
        let dir = TemporaryDirectory()
        let previous = umask(0)
        defer { umask(previous) }
        _ = try File.create(dir.file("f"))
        try FileSystem.makeDirectory(dir.file("d"))
        var st = stat()
        #expect(stat(dir.file("f"), &st) == 0 && st.st_mode & S_IWOTH == 0)
        #expect(stat(dir.file("d"), &st) == 0 && st.st_mode & S_IWOTH == 0)
    }

    @Test func lockTimeoutNamesTheHoldingProcess() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("held.lock")
        FileManager.default.createFile(atPath: path, contents: nil)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [path, "sleep", "5"]
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        var held = false
        for _ in 0..<100 where !held {
            held = (try FileLock.tryAcquire(path, what: "probe")) == nil
            if !held { usleep(20_000) }
        }
        #expect(held, "the flock(1) child should hold the lock")
        let started = WallClock.monotonicNanos()
        let error = #expect(throws: SluiceError.self) { _ = try FileLock.acquire(path, what: "the test lock", timeoutMillis: 300) }
        let waited = (WallClock.monotonicNanos() - started) / 1_000_000
        #expect(waited >= 300 && waited < 3000)
        #expect(error?.reason == .lockTimeout)
        #expect(error?.message.contains("the test lock is locked by process") == true, "\(String(describing: error))")
        #expect(LockHolders.pids(ofPath: path).isEmpty == false)
    }

    @Test func locksDieWithTheirHolder() throws {
        let dir = TemporaryDirectory()
        let first = try #require(try FileLock.tryAcquire(dir.file("l"), what: "l"))
        #expect(try FileLock.tryAcquire(dir.file("l"), what: "l") == nil)
        first.release()
        #expect(try FileLock.tryAcquire(dir.file("l"), what: "l") != nil)
    }
}
