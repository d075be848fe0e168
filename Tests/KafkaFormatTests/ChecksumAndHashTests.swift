import KafkaFormat
import Testing

/// Reference vectors from docs/FORMAT.md §4.3 (Kafka's, librdkafka's and RFC 3720's tests).
@Suite struct ChecksumAndHashTests {
    @Test func crc32cMatchesPublishedVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("Some String".utf8)) == 608_512_271)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func crc32cIsIncremental() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(bytes)
        let pieces = bytes.withUnsafeBytes { raw in
            ~CRC32C.update(CRC32C.update(0xFFFF_FFFF, raw.baseAddress!, count: 3333), raw.baseAddress! + 3333, count: 10_000 - 3333)
        }
        #expect(whole == pieces)
    }

    @Test func crc32IEEEForLegacyMessages() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: 9) } == 0xCBF4_3926)
    }

    static let kafkaVectors: [(String, Int32)] = [
        ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ]
    static let librdkafkaVectors: [(String, UInt32)] = [
        ("kafka", 0xd067_cf64), ("giberish123456789", 0x8f55_2b0c), ("1234", 0x9fc9_7b14), ("234", 0xe7c0_09ca),
        ("34", 0x8739_30da), ("4", 0x5a4b_5ca1), ("PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
        ("reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377), ("eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
        ("AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f), ("", 0x106e_08d9),
    ]
    static let partitionVectors: [(String, Int, Int, Int)] = [
        ("21", 0, 0, 40), ("foobar", 0, 6, 16), ("a-little-bit-long-string", 2, 2, 12), ("abc", 0, 7, 7),
    ]

    @Test(arguments: kafkaVectors)
    func murmur2MatchesKafkaUtilsTest(key: String, expected: Int32) {
        #expect(KafkaPartitioner.murmur2(Array(key.utf8)) == expected)
    }

    @Test(arguments: librdkafkaVectors)
    func murmur2MatchesLibrdkafkaUnitTest(key: String, expected: UInt32) {
        #expect(UInt32(bitPattern: KafkaPartitioner.murmur2(Array(key.utf8))) == expected)
    }

    @Test(arguments: partitionVectors)
    func defaultPartitionForKey(key: String, p3: Int, p10: Int, p50: Int) {
        Array(key.utf8).withUnsafeBytes { raw in
            #expect(KafkaPartitioner.partition(forKey: raw, partitions: 3) == p3)
            #expect(KafkaPartitioner.partition(forKey: raw, partitions: 10) == p10)
            #expect(KafkaPartitioner.partition(forKey: raw, partitions: 50) == p50)
        }
    }
}
