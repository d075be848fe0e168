import SluiceCore
import SluiceSystem

/// Issue 8 §2: the same data and record counts through a real Kafka-protocol
/// broker and client (kcat → Tansu), beside sluice's rows of the same work.
enum PeerCases {
    static let topic = "peer-lines"

    static func table(_ sizes: BenchSizes, peer: TansuPeer) -> BenchTable {
        let lines = Format.count(sizes.lines)
        return BenchTable(
            title: "Kafka-protocol peer: kcat → Tansu (issue 8)",
            explanation: """
                \(peer.versions), Tansu broker on \(TansuPeer.address) with `--storage-engine memory://`. **Tansu keeps the \
                data in memory and never fsyncs, so the comparison favours it**: sluice's produce includes fsync. The \
                baseline of each row is sluice doing the same work on the same data set (issue 2's value lines), timed in \
                alternation, so a ratio above 1 means kcat → Tansu took longer than sluice. The broker is restarted (empty) \
                before each produce run; CPU counts kcat and the broker; peak RSS is kcat's.
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
                    let input = try bench.dataset(.valueLines, records: sizes.lines)
                    try peer.restart()
                    try bench.run(produce(input, peer: peer))
                    try expectRecords(input.records, bench: bench, peer: peer)
                    let consume = peer.kcatCommand([
                        "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", String(input.records), "-e", "-q",
                    ])
                    // MB/s as for sluice: the same records in Kafka's batch format.
                    let sameRecords = try ProduceConsumeCases.filledLinesTopic(bench, lines: sizes.lines)
                    return PreparedCase(
                        workload: Workload(records: input.records, bytes: sameRecords.logBytes),
                        timed: Timed(label: "kcat -C", command: consume, companionCPUSeconds: { peer.cpuSeconds() }),
                        baseline: ProduceConsumeCases.sluiceConsume(bench, sameRecords))
                },
            ])
    }

    /// The consume row reads with `-e` (stop at the end), so every record must
    /// be there: one byte per record read (`-f .`) must make `expected` bytes.
    private static func expectRecords(_ expected: Int, bench: Workbench, peer: TansuPeer) throws {
        let marks = bench.path("peer-check")
        try bench.run(peer.kcatCommand(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "."], standardOutput: marks))
        let found = try FileSystem.fileSize(marks) ?? 0
        guard found == Int64(expected) else {
            throw SluiceError(.failure, .benchCommandFailed, "Tansu's \(topic)-0 holds \(found) records after kcat produced \(expected)")
        }
    }

    private static func produce(_ input: Dataset, peer: TansuPeer) -> Command {
        peer.kcatCommand(["-P", "-t", topic, "-p", "0", "-l", input.path])
    }
}
