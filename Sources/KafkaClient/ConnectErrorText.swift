import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A connection error from NIO as a few words ("connection refused"), not
/// the full debug description of every address tried.
enum ConnectErrorText {
    static func describe(_ error: Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return describe(first.error) }
            return error.dnsAError != nil || error.dnsAAAAError != nil ? "cannot resolve host '\(error.host)'" : "no address to connect to"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout(let amount):
            return "no answer within \(amount.nanoseconds / 1_000_000) ms"
        default:
            return "\(error)"
        }
    }
}
