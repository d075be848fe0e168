import SluiceCore
import SluiceSystem

/// Issue 8 §2: the same data and record counts through a real Kafka-protocol
/// broker (Tansu): kcat against it beside sluice's rows of the same work on a
/// data directory, and sluice against it beside kcat on the same broker.
enum PeerCases {
    static let topic = "peer-lines"

    static func table(_ sizes: BenchSizes, peer: TansuPeer) -> BenchTable {
        let lines = Format.count(sizes.lines)
        return BenchTable(
            title: "Kafka-protocol peer: kcat → Tansu (issue 8)",
            explanation: """
                \(peer.versions), Tansu broker on \(TansuPeer.address) with `--storage-engine memory://`. **Tansu keeps the \
                data in memory and never fsyncs, so the comparison favours it**: sluice's produce to a data directory includes \
                fsync. Every row uses the same data set (issue 2's value lines), one partition. The two kcat rows have as \
                baseline sluice doing the same work on a local data directory, so a ratio above 1 means kcat → Tansu took \
                longer than sluice alone. The two sluice rows run sluice against Tansu (`--bootstrap-server`) with kcat on \
                the same broker as baseline, so their ratio is sluice ÷ kcat as Kafka clients. The broker is restarted \
                (empty) before each produce run of either client, and the sluice produce rows create `\(topic)` with one \
                partition (`sluice topic create`, untimed) after each restart; the consume rows read a topic kcat filled \
                once. CPU counts the client and the broker; peak RSS is the client's.
                """,
            cases: [
                BenchCase(name: "kcat → Tansu, produce \(lines) lines") { bench in
                    let input = try bench.dataset(.valueLines, records: sizes.lines)
                    return PreparedCase(
                        workload: Workload(records: input.records, bytes: input.bytes),
                        timed: Timed(
                            label: "kcat -P", command: produce(input, peer: peer),
                            beforeEach: { try peer.restart() }, companionCPUSeconds: { peer.cpuSeconds() }),
                        baseline: ProduceConsumeCases.sluiceProduce(bench, input))
                },
                BenchCase(name: "kcat ← Tansu, consume \(lines) lines") { bench in
                    let input = try fill(bench, peer: peer, lines: sizes.lines)
                    // MB/s as for sluice: the same records in Kafka's batch format.
                    let sameRecords = try ProduceConsumeCases.filledLinesTopic(bench, lines: sizes.lines)
                    return PreparedCase(
                        workload: Workload(records: input.records, bytes: sameRecords.logBytes),
                        timed: kcatConsume(input, peer: peer),
                        baseline: ProduceConsumeCases.sluiceConsume(bench, sameRecords))
                },
                BenchCase(name: "sluice → Tansu, produce \(lines) lines") { bench in
                    let input = try bench.dataset(.valueLines, records: sizes.lines)
                    let restart = { try restartWithTopic(bench, peer: peer) }
                    let sluiceProduce = sluiceCommand(bench, ["produce", topic, "-p", "0", "-f", input.path], quiet: true)
                    return PreparedCase(
                        workload: Workload(records: input.records, bytes: input.bytes),
                        timed: Timed(
                            label: "sluice produce", command: sluiceProduce, beforeEach: restart,
                            companionCPUSeconds: { peer.cpuSeconds() }),
                        baseline: Timed(
                            label: "kcat -P", command: produce(input, peer: peer), beforeEach: restart,
                            companionCPUSeconds: { peer.cpuSeconds() }))
                },
                BenchCase(name: "sluice ← Tansu, consume \(lines) lines") { bench in
                    let input = try fill(bench, peer: peer, lines: sizes.lines)
                    let sluiceConsume = sluiceCommand(bench, ["consume", topic, "-p", "0"])
                    try expectOutput(of: sluiceConsume, matches: input, bench: bench)
                    let sameRecords = try ProduceConsumeCases.filledLinesTopic(bench, lines: sizes.lines)
                    return PreparedCase(
                        workload: Workload(records: input.records, bytes: sameRecords.logBytes),
                        timed: Timed(label: "sluice consume", command: sluiceConsume, companionCPUSeconds: { peer.cpuSeconds() }),
                        baseline: kcatConsume(input, peer: peer))
                },
            ])
    }

    /// An empty broker whose `peer-lines` kcat has filled with the value-lines
    /// data set (checked to hold every record), for the consume rows.
    private static func fill(_ bench: Workbench, peer: TansuPeer, lines: Int) throws -> Dataset {
        let input = try bench.dataset(.valueLines, records: lines)
        try peer.restart()
        try bench.run(produce(input, peer: peer))
        try expectRecords(input.records, bench: bench, peer: peer)
        return input
    }

    /// A fresh broker holding an empty one-partition `peer-lines`: sluice does
    /// not create topics on produce (kcat's Metadata request does, on Tansu).
    private static func restartWithTopic(_ bench: Workbench, peer: TansuPeer) throws {
        try peer.restart()
        try bench.run(sluiceCommand(bench, ["topic", "create", topic, "--partitions", "1"], quiet: true))
    }

    /// The consume rows read with `-e` (stop at the end), so every record must
    /// be there: one byte per record read (`-f .`) must make `expected` bytes.
    private static func expectRecords(_ expected: Int, bench: Workbench, peer: TansuPeer) throws {
        let marks = bench.path("peer-check")
        try bench.run(peer.kcatCommand(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "."], standardOutput: marks))
        let found = try FileSystem.fileSize(marks) ?? 0
        guard found == Int64(expected) else {
            throw SluiceError(.failure, .benchCommandFailed, "Tansu's \(topic)-0 holds \(found) records after kcat produced \(expected)")
        }
    }

    /// Runs the timed sluice consume once (untimed) into a file: it must print
    /// one line per record, and those lines must be the input kcat produced.
    private static func expectOutput(of consume: Command, matches input: Dataset, bench: Workbench) throws {
        var capturing = consume
        capturing.standardOutput = bench.path("peer-sluice-consume")
        try bench.run(capturing)
        let counted = try ChildProcess.output(of: Command(["wc", "-l", capturing.standardOutput]), scratch: bench.scratch)
        let lines = counted.split(separator: " ").first.flatMap { Int($0) }
        guard lines == input.records else {
            throw SluiceError(
                .failure, .benchCommandFailed,
                "'\(consume.display)' printed \(lines.map(String.init) ?? "?") lines of the \(input.records) records in \(topic)-0")
        }
        do {
            try bench.run(Command(["cmp", "-s", capturing.standardOutput, input.path]))
        } catch let error as SluiceError where error.reason == .benchCommandFailed {
            throw SluiceError(
                .failure, .benchCommandFailed, "'\(consume.display)' printed \(input.records) lines, but not those of \(input.path)")
        }
        try FileSystem.removeFile(capturing.standardOutput)
    }

    /// `sluice ARGUMENTS --bootstrap-server` Tansu, with no data directory in the environment.
    private static func sluiceCommand(_ bench: Workbench, _ arguments: [String], quiet: Bool = false) -> Command {
        Command(
            [bench.sluice] + arguments + ["--bootstrap-server", TansuPeer.address] + (quiet ? ["-q"] : []),
            environment: ["SLUICE_DATA_DIR": nil, "SLUICE_BOOTSTRAP_SERVERS": nil])
    }

    private static func produce(_ input: Dataset, peer: TansuPeer) -> Command {
        peer.kcatCommand(["-P", "-t", topic, "-p", "0", "-l", input.path])
    }

    private static func kcatConsume(_ input: Dataset, peer: TansuPeer) -> Timed {
        let consume = peer.kcatCommand(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", String(input.records), "-e", "-q"])
        return Timed(label: "kcat -C", command: consume, companionCPUSeconds: { peer.cpuSeconds() })
    }
}
