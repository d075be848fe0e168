import SluiceCore
import SluiceSystem

/// Writes command results to stdout in one write, so output stays whole even
/// when several processes share a terminal or a log.
enum Output {
    /// A reader that has gone away (`| head`) is not an error; any other
    /// failure is (a full disk under `> plan.csv` must not exit 0 with half
    /// a plan written).
    static func print(_ text: String) throws {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        var bytes = Array(line.utf8)
        do {
            try bytes.withUnsafeMutableBytes { try StandardStreams.output.write(UnsafeRawBufferPointer($0)) }
        } catch let error as SluiceError where error.reason == .brokenPipe {
            return
        } catch let error as SluiceError {
            // Not the data directory's failure: what the command did stands.
            throw SluiceError.failure(
                .io, "\(error.message) (the result of the command; what it did is done)",
                remedy: "do not run it again to see the result; free space where its output goes and use a read-only command")
        }
    }

    static func printJSON(_ value: JSONValue) throws {
        try print(value.serialized(pretty: true))
    }

    /// A timestamp for tables: ISO-8601 UTC, or "-" when absent.
    static func time(_ millis: Int64?) -> String {
        guard let millis, millis >= 0 else { return "-" }
        return TimeParsing.formatISO8601(millis)
    }
}
