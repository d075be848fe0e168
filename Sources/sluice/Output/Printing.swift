import SluiceCore
import SluiceSystem

/// Writes command results to stdout in one write, so output stays whole even
/// when several processes share a terminal or a log.
enum Output {
    static func print(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        var bytes = Array(line.utf8)
        _ = try? bytes.withUnsafeMutableBytes { try StandardStreams.output.write(UnsafeRawBufferPointer($0)) }
        bytes.removeAll()
    }

    static func printJSON(_ value: JSONValue) {
        print(value.serialized(pretty: true))
    }

    /// A timestamp for tables: ISO-8601 UTC, or "-" when absent.
    static func time(_ millis: Int64?) -> String {
        guard let millis, millis >= 0 else { return "-" }
        return TimeParsing.formatISO8601(millis)
    }
}
