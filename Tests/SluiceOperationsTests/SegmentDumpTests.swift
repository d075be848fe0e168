import SluiceCore
import SluiceOperations
import SluiceSystem
import TestSupport
import Testing

/// `sluice dump` of kafka-go's captured segment slice, which mixes gzip v2
/// batches and gzip legacy (magic 1) wrappers with plain entries.
@Suite struct SegmentDumpTests {
    func dump(json: Bool) throws -> (lines: [String], summary: SegmentDump.Summary) {
        let dir = TemporaryDirectory()
        let log = dir.file("00000000000000000000.log")
        try FileSystem.writeAtomically(log, try KafkaGoFetch.recordSet("kgo_v1-v1c-v2-v2c-v2b-v2b-v2b-v2bc-v1b-v1bc.hex"))
        let outputPath = dir.file("out")
        let dump = SegmentDump(output: BufferedOutput(file: try File.create(outputPath)), json: json)
        try dump.dump(path: log)
        let text = String(decoding: try FileSystem.readIfExists(outputPath) ?? [], as: UTF8.self)
        return (text.split(separator: "\n").map(String.init), dump.summary)
    }

    @Test func compressedLegacyWrappersShowTheirInnerRecords() throws {
        let (lines, summary) = try dump(json: false)
        #expect(summary.records == 20 && summary.invalid == 0)
        // The last entry: a gzip wrapper at offset 19 holding offsets 18 and 19.
        #expect(
            lines.suffix(3).first?.hasPrefix(
                "offset: 19 position: 1517 CreateTime: 1633374040837 isvalid: true size: 130 magic: 1 compresscodec: gzip") == true)
        #expect(
            lines.suffix(2).map { $0.prefix(49) } == [
                "| offset: 18 CreateTime: 1633374040551 keySize: 3",
                "| offset: 19 CreateTime: 1633374040837 keySize: 5",
            ])
        #expect(lines.last?.hasSuffix(#"key: theta payload: {"count":0,"filler":"hhhhhhhhhh"}"#) == true)
    }

    @Test func jsonWrappersCarryTheirRecords() throws {
        let (lines, _) = try dump(json: true)
        let wrapper = try JSONValue.parse(lines.last!)
        #expect(wrapper["type"] == "legacy_message" && wrapper["compression"] == "gzip")
        #expect(wrapper["records"]?.arrayValue?.map { $0["offset"] } == [.int(18), .int(19)])
        #expect(wrapper["records"]?.arrayValue?.map { $0["key"] } == ["eta", "theta"])
    }
}
