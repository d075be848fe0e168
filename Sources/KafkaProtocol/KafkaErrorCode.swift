/// A protocol error code from a response, with Kafka's name for it and
/// whether Kafka's own client retries it (error-codes in docs/PROTOCOL.md).
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int16
    public init(_ rawValue: Int16) { self.rawValue = rawValue }

    public var isError: Bool { rawValue != 0 }
    public var name: String { Self.known[rawValue]?.name ?? "UNKNOWN_ERROR_CODE_\(rawValue)" }
    public var isRetriable: Bool { Self.known[rawValue]?.retriable ?? false }
    public var description: String { "\(name) (\(rawValue))" }

    public static let none = KafkaErrorCode(0)
    public static let unknownServerError = KafkaErrorCode(-1)
    public static let offsetOutOfRange = KafkaErrorCode(1)
    public static let unknownTopicOrPartition = KafkaErrorCode(3)
    public static let leaderNotAvailable = KafkaErrorCode(5)
    public static let notLeaderOrFollower = KafkaErrorCode(6)
    public static let requestTimedOut = KafkaErrorCode(7)
    public static let coordinatorLoadInProgress = KafkaErrorCode(14)
    public static let coordinatorNotAvailable = KafkaErrorCode(15)
    public static let notCoordinator = KafkaErrorCode(16)
    public static let topicAuthorizationFailed = KafkaErrorCode(29)
    public static let groupAuthorizationFailed = KafkaErrorCode(30)
    public static let clusterAuthorizationFailed = KafkaErrorCode(31)
    public static let unsupportedVersion = KafkaErrorCode(35)
    public static let topicAlreadyExists = KafkaErrorCode(36)
    public static let invalidPartitions = KafkaErrorCode(37)
    public static let invalidReplicationFactor = KafkaErrorCode(38)
    public static let notController = KafkaErrorCode(41)
    public static let unknownMemberId = KafkaErrorCode(25)
    public static let rebalanceInProgress = KafkaErrorCode(27)
    public static let illegalGeneration = KafkaErrorCode(22)
    public static let saslAuthenticationFailed = KafkaErrorCode(58)
    public static let unsupportedSaslMechanism = KafkaErrorCode(33)
    public static let illegalSaslState = KafkaErrorCode(34)
    public static let duplicateSequenceNumber = KafkaErrorCode(46)
    public static let outOfOrderSequenceNumber = KafkaErrorCode(45)
    public static let unknownProducerId = KafkaErrorCode(59)
    public static let memberIdRequired = KafkaErrorCode(79)
    public static let groupIdNotFound = KafkaErrorCode(69)
    public static let nonEmptyGroup = KafkaErrorCode(68)
    public static let fencedLeaderEpoch = KafkaErrorCode(74)
    public static let unknownLeaderEpoch = KafkaErrorCode(75)
    public static let offsetNotAvailable = KafkaErrorCode(78)
    public static let throttlingQuotaExceeded = KafkaErrorCode(89)
}
