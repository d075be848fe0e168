import Foundation
import SluiceCore
import TestSupport
import Testing

/// `produce` → `consume` through the binary.
@Suite struct ProduceConsumeTests {
    @Test(arguments: ["none", "zstd"])
    func jsonRoundTripKeepsKeysValuesHeadersAndTimestampsAcrossRolls(compression: String) throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "rt", "--partitions", "3", "--config", "segment.bytes=4096"], dataDir: dir.path)
        var lines: [String] = []
        for i in 0..<3000 {
            var object: [String] = []
            if i % 4 != 0 { object.append(#""key":"k\#(i % 17)""#) }
            object.append(i % 9 == 5 ? #""value":null"# : #""value":"v\#(i) \"quoted\" é\#(String(repeating: "x", count: i % 60))""#)
            if i % 3 == 0 { object.append(#""headers":[{"key":"h1","value":"a\#(i)"},{"key":"h2","value":null}]"#) }
            if i % 5 == 0 {
                object.append(#""value_base64":"AAECA/8=""#); object.removeAll { $0.hasPrefix(#""value""#) && !$0.contains("base64") }
            }
            object.append(#""timestamp":\#(1_600_000_000_000 + Int64(i) * 1000)"#)
            lines.append("{" + object.joined(separator: ",") + "}")
        }
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let produced = try SluiceProcess.run(["produce", "rt", "--json", "--compression", compression], dataDir: dir.path, stdin: input)
        #expect(produced.status == 0, "\(produced.err)")
        let summary = try JSONValue.parse(produced.out)
        #expect(summary["records"]?.int64Value == 3000)

        let consumed = try SluiceProcess.run(["consume", "rt", "--json"], dataDir: dir.path)
        #expect(consumed.status == 0)
        let out = consumed.out.split(separator: "\n").map(String.init)
        #expect(out.count == 3000)
        // Produce the consumed JSON into a second topic: the records must be identical.
        try SluiceProcess.run(["topic", "create", "copy", "--partitions", "3"], dataDir: dir.path)
        let reproduced = try SluiceProcess.run(["produce", "copy", "--json"], dataDir: dir.path, stdin: Data(consumed.stdout))
        #expect(reproduced.status == 0, "\(reproduced.err)")
        let again = try SluiceProcess.run(["consume", "copy", "--json"], dataDir: dir.path)
        func normalized(_ text: String) throws -> [String] {
            try text.split(separator: "\n").map { line in
                var object = try JSONValue.parse(String(line)).objectValue!
                object.removeAll { $0.0 == "topic" || $0.0 == "offset" }
                return JSONValue.object(object).serialized()
            }.sorted()
        }
        #expect(try normalized(again.out) == normalized(consumed.out))
        let first = try JSONValue.parse(out.first { $0.contains("\"offset\":0,") && $0.contains("\"partition\":0") }!)
        #expect(first["timestamp"]?.int64Value ?? 0 >= 1_600_000_000_000)
        let verify = try SluiceProcess.run(["verify"], dataDir: dir.path)
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
    }

    @Test func keyedRecordsLandInKafkasPartition() throws {
        let dir = TemporaryDirectory()
        let keys = ["21", "foobar", "a-little-bit-long-string", "abc"]
        let expected: [Int: [Int]] = [3: [0, 0, 2, 0], 10: [0, 6, 2, 7], 50: [40, 16, 12, 7]]
        for (partitions, places) in expected {
            try SluiceProcess.run(["topic", "create", "k\(partitions)", "-p", "\(partitions)"], dataDir: dir.path)
            let input = Data(keys.map { "\($0)|value-of-\($0)" }.joined(separator: "\n").utf8)
            #expect(try SluiceProcess.run(["produce", "k\(partitions)", "-K", "|"], dataDir: dir.path, stdin: input).status == 0)
            let out = try SluiceProcess.run(["consume", "k\(partitions)", "--format", "%k %p\\n"], dataDir: dir.path).out
            var placed: [String: Int] = [:]
            for line in out.split(separator: "\n") {
                let parts = line.split(separator: " ")
                placed[String(parts[0])] = Int(parts[1])
            }
            #expect(keys.map { placed[$0] } == places.map { Optional($0) }, "with \(partitions) partitions")
        }
    }

    @Test func unkeyedRecordsSpreadEvenly() throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "spread", "-p", "4"], dataDir: dir.path)
        let input = Data((0..<40_000).map { "record \($0) with some padding to fill batches" }.joined(separator: "\n").utf8)
        #expect(try SluiceProcess.run(["produce", "spread"], dataDir: dir.path, stdin: input).status == 0)
        let describe = try JSONValue.parse(try SluiceProcess.run(["topic", "describe", "spread", "--json"], dataDir: dir.path).out)
        let counts = describe["partitions"]!.arrayValue!.map { $0["records"]!.int64Value! }
        #expect(counts.reduce(0, +) == 40_000)
        #expect(counts.allSatisfy { abs($0 - 10_000) < 1_000 }, "\(counts)")
    }

    @Test func consumeSelectsPartitionsStartsAndLimits() throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "c", "-p", "2"], dataDir: dir.path)
        try SluiceProcess.run(
            ["produce", "c", "-p", "1"], dataDir: dir.path, stdin: Data((0..<100).map(String.init).joined(separator: "\n").utf8))
        func consume(_ args: String...) throws -> [String] {
            try SluiceProcess.run(["consume", "c"] + args, dataDir: dir.path).out.split(separator: "\n").map(String.init)
        }
        #expect(try consume("-p", "0") == [])
        #expect(try consume("-p", "1", "--from", "95") == ["95", "96", "97", "98", "99"])
        #expect(try consume("--from", "-3") == ["97", "98", "99"])
        #expect(try consume("--from", "latest") == [])
        #expect(try consume("-c", "2") == ["0", "1"])
        #expect(try consume("--from", "@2000-01-01", "-c", "1") == ["0"])
        #expect(try consume("--from", "@2999-01-01") == [])
        #expect(try consume("--format", "%t/%p/%o:%v|", "-c", "2") == ["c/1/0:0|c/1/1:1|"])
    }

    @Test func consumeIntoAClosedPipeStopsQuietly() throws {
        let dir = TemporaryDirectory()
        try SluiceProcess.run(["topic", "create", "pipe"], dataDir: dir.path)
        try SluiceProcess.run(
            ["produce", "pipe"], dataDir: dir.path, stdin: Data((0..<200_000).map(String.init).joined(separator: "\n").utf8))
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/bash")
        shell.arguments = ["-c", "set -o pipefail; '\(SluiceProcess.binary)' consume pipe --data-dir '\(dir.path)' | head -n 1 >/dev/null"]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
    }
}
