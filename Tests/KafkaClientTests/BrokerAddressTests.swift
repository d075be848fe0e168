import KafkaClient
import SluiceCore
import Testing

@Suite struct BrokerAddressTests {
    @Test func parsesKafkaToolsBootstrapLists() throws {
        #expect(
            try BrokerAddress.parseList("a:1, b.example.com:9093,[::1]:9094,c")
                == [
                    BrokerAddress(host: "a", port: 1), BrokerAddress(host: "b.example.com", port: 9093),
                    BrokerAddress(host: "::1", port: 9094), BrokerAddress(host: "c", port: 9092),
                ])
        #expect(BrokerAddress(host: "::1", port: 9094).description == "[::1]:9094")
    }

    @Test(arguments: ["", ",", "a:", "a:0", "a:65536", "a:x", "::1:9092", "[::1", "[::1]x", ":9092"])
    func refusesMalformedLists(_ text: String) {
        #expect(throws: SluiceError.self) { try BrokerAddress.parseList(text) }
    }
}
