import KafkaProtocol
import SluiceCore

extension SluiceError.Reason {
    /// No broker could be reached, or a connection was lost mid-request.
    public static let brokerUnreachable = Self("broker-unreachable")
    /// A broker did not answer within the request timeout.
    public static let brokerTimeout = Self("broker-timeout")
    /// A broker sent bytes that are not a response sluice can decode.
    public static let protocolViolation = Self("protocol-violation")
    /// The broker does not speak an API (or any version of it) sluice needs.
    public static let unsupportedByBroker = Self("unsupported-by-broker")
    /// A broker answered with a Kafka error code.
    public static let brokerError = Self("broker-error")
    /// A broker answered with an error Kafka marks retriable (leader moving, coordinator loading).
    public static let brokerBusy = Self("broker-busy")
}

extension SluiceError {
    /// A Kafka error code in a response, on `subject` ("topic 'orders'"), as one line.
    public static func broker(_ code: KafkaErrorCode, _ subject: String, message: String? = nil, remedy: String? = nil) -> SluiceError {
        let detail = message.map { $0.isEmpty ? "" : ": \($0.printable)" } ?? ""
        return .failure(
            code.isRetriable ? .brokerBusy : .brokerError, "\(subject): the broker answered \(code.name)\(detail)",
            remedy: remedy ?? code.remedy)
    }
}

extension KafkaErrorCode {
    /// What a user can do about the error, where there is something general to say.
    var remedy: String? {
        switch self {
        case .topicAuthorizationFailed, .groupAuthorizationFailed, .clusterAuthorizationFailed:
            return "the credentials in --command-config lack the ACL for this; ask the cluster's administrators"
        case .unsupportedVersion:
            return "the broker is older or newer than sluice expects; report it with 'sluice cluster describe'"
        default:
            return isRetriable ? "the cluster is busy or electing leaders; try again in a few seconds" : nil
        }
    }
}

/// Why a request did not get a response, before any Kafka error code.
enum ConnectionFailure: Error, Sendable {
    case closed
    case timedOut
    case oversizedFrame(Int)
    case unexpectedCorrelation(Int32)
}
