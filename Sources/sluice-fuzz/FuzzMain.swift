import SluiceCore
import SluiceFuzzTargets
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

// `make fuzz` builds this with `-sanitize=fuzzer,address -DSLUICE_LIBFUZZER`:
// libFuzzer drives the target named by $SLUICE_FUZZ_TARGET. Built normally it
// replays inputs (a crash found by libFuzzer reproduces without it) and
// writes the seed corpora.

func complain(_ line: String) {
    try? Array((line + "\n").utf8).withUnsafeBytes { try StandardStreams.error.write($0) }
}

#if SLUICE_LIBFUZZER
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzCallback
) -> CInt

nonisolated(unsafe) var selected: FuzzTarget?

@main
struct SluiceFuzz {
    static func main() {
        let name = getenv("SLUICE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTargets.named(name) else {
            complain("set SLUICE_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: " "))")
            exit(64)
        }
        selected = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                selected!.run(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            })
    }
}
#else
@main
struct SluiceFuzz {
    static let usage = """
        usage: sluice-fuzz list
               sluice-fuzz seeds FIXTURES DIRECTORY   write seed corpora (DIRECTORY/<target>/)
               sluice-fuzz run TARGET PATH...         replay inputs (files, or directories of them)
        """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch (arguments.first, arguments.count) {
            case ("list"?, 1):
                for target in FuzzTargets.all { print("\(target.name)\t\(target.summary)") }
            case ("seeds"?, 3):
                print("wrote \(try FuzzTargets.writeSeeds(fixtures: arguments[1], to: arguments[2])) seeds to \(arguments[2])")
            case ("run"?, 3...):
                guard let target = FuzzTargets.named(arguments[1]) else {
                    throw SluiceError.usage(.invalidArgument, "unknown target \(arguments[1])")
                }
                var count = 0
                for path in arguments.dropFirst(2) {
                    let files = try FileSystem.isDirectory(path) ? try FileSystem.list(path).sorted().map { path + "/" + $0 } : [path]
                    for file in files {
                        let bytes = try FileSystem.readIfExists(file) ?? []
                        bytes.withUnsafeBytes { target.run($0) }
                        count += 1
                    }
                }
                print("\(target.name): \(count) inputs, no crash")
            default:
                print(usage)
                exit(64)
            }
        } catch {
            complain("error: \(error)")
            exit(1)
        }
    }
}
#endif
