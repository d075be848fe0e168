import Testing

@testable import KafkaProtocol

/// The generated codecs against bytes worked out by hand from Kafka's
/// protocol guide, and every message's round trip at every spoken version.
@Suite struct CodecTests {
    @Test func apiVersionsRequestV3HasHeaderV2AndCompactStrings() {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "sluice"
        request.clientSoftwareVersion = "1"
        let frame = request.frame(version: 3, correlationId: 7, clientId: "c")
        let expected: [UInt8] =
            [0, 18, 0, 3, 0, 0, 0, 7]  // api key 18, version 3, correlation id 7
            + [0, 1, 0x63]  // client id "c": never compact
            + [0]  // header tagged fields
            + [7] + Array("sluice".utf8) + [2, 0x31]  // compact strings: length + 1
            + [0]  // body tagged fields
        #expect(frame == expected)
    }

    @Test func metadataRequestV7IsNotFlexible() {
        var request = MetadataRequest()
        var topic = MetadataRequest.MetadataRequestTopic()
        topic.name = "ab"
        request.topics = [topic]
        request.allowAutoTopicCreation = false
        #expect(request.encoded(version: 7) == [0, 0, 0, 1, 0, 2, 0x61, 0x62, 0])
        // Version 8 adds include_cluster_authorized_operations and include_topic_authorized_operations.
        #expect(request.encoded(version: 8) == [0, 0, 0, 1, 0, 2, 0x61, 0x62, 0, 0, 0])
        // A null topic list asks for every topic.
        request.topics = nil
        #expect(request.encoded(version: 7) == [0xFF, 0xFF, 0xFF, 0xFF, 0])
        // Flexible (v9): a compact null array is 0; then the three booleans and the tagged fields.
        #expect(request.encoded(version: 9) == [0, 0, 0, 0, 0])
    }

    @Test func apiVersionsResponseV3ReadsTaggedFieldsAndSkipsUnknownOnes() throws {
        let body: [UInt8] =
            [0, 0]  // error code
            + [2, 0, 3, 0, 0, 0, 12, 0]  // api_keys: one (Metadata 0...12), its tagged fields
            + [0, 0, 0, 5]  // throttle time
            + [2]  // two tagged fields
            + [1, 8, 0, 0, 0, 0, 0, 0, 0, 9]  // tag 1: finalized features epoch 9
            + [200, 1, 2, 0xAA, 0xBB]  // tag 200 (varint), unknown: skipped
        let response = try ApiVersionsResponse(decoding: body, version: 3)
        #expect(response.apiKeys.count == 1)
        #expect(response.apiKeys[0].apiKey == 3)
        #expect(response.apiKeys[0].maxVersion == 12)
        #expect(response.throttleTimeMs == 5)
        #expect(response.finalizedFeaturesEpoch == 9)
        // Written back, only the known, non-default tag remains.
        #expect(response.encoded(version: 3) == Array(body.prefix(14)) + [1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 9])
    }

    @Test func responseFramesSkipHeaderTagsExceptForApiVersions() throws {
        var response = MetadataResponse()
        response.controllerId = 3
        var frame: [UInt8] = [0, 0, 0, 42, 0] + response.encoded(version: 9)
        let decoded = try MetadataRequest.decodeResponse(frame, version: 9)
        #expect(decoded.correlationId == 42)
        #expect(decoded.response == response)
        frame = [0, 0, 0, 42] + ApiVersionsResponse().encoded(version: 3)
        #expect(try ApiVersionsRequest.decodeResponse(frame, version: 3).correlationId == 42)
    }

    @Test func everyMessageRoundTripsAtEverySpokenVersion() throws {
        for type in SpokenMessages.requests as [any KafkaMessage.Type] + SpokenMessages.responses + SpokenMessages.embedded {
            for version in type.versions {
                try roundTrip(type, version)
            }
        }
    }

    private func roundTrip<M: KafkaMessage>(_ type: M.Type, _ version: Int16) throws {
        let message = M()
        let bytes = message.encoded(version: version)
        let decoded = try M(decoding: bytes, version: version)
        #expect(decoded.encoded(version: version) == bytes, "\(M.self) v\(version)")
    }

    @Test func hostileLengthsAreErrorsNotAllocations() {
        // An array claiming 2^31 - 1 elements in 4 bytes.
        #expect(throws: ProtocolDecodingError.self) {
            try MetadataResponse(decoding: [0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF], version: 7)
        }
        // A compact string whose varint never ends.
        #expect(throws: ProtocolDecodingError.self) {
            try ApiVersionsRequest(decoding: Array(repeating: 0xFF, count: 12), version: 3)
        }
        // Truncated in the middle of an integer.
        #expect(throws: ProtocolDecodingError.self) { try HeartbeatResponse(decoding: [0, 0, 0], version: 2) }
        // Bytes left over mean a schema disagreement.
        #expect(throws: ProtocolDecodingError.self) { try HeartbeatResponse(decoding: [0, 0, 0, 0, 0, 0, 9], version: 2) }
    }

    @Test func errorCodesKnowTheirNamesAndWhetherToRetry() {
        #expect(KafkaErrorCode.notLeaderOrFollower.name == "NOT_LEADER_OR_FOLLOWER")
        #expect(KafkaErrorCode.notLeaderOrFollower.isRetriable)
        #expect(!KafkaErrorCode.topicAuthorizationFailed.isRetriable)
        #expect(KafkaErrorCode(-42).name == "UNKNOWN_ERROR_CODE_-42")
    }

    @Test func uuidsPrintAsKafkaDoes() {
        // Kafka prints a Uuid as URL-safe base64 without padding.
        #expect(KafkaUUID(high: 0, low: 1).description == "AAAAAAAAAAAAAAAAAAAAAQ")
    }
}
