import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Who holds a partition or a membership of a group: a member id, its
/// process and host, and since when (epoch ms); for members also the topic,
/// how it takes partitions and which it claims.
public struct HolderInfo: Equatable, Sendable {
    public var member: String
    public var pid: Int32
    public var host: String
    public var since: Int64
    public var topic: String?
    /// `dynamic` (fair split) or `pinned` (--partition or --member I/N).
    public var mode: String?
    /// The partitions a pinned member claims.
    public var partitions: [Int]

    public init(member: String, pid: Int32, host: String, since: Int64, topic: String? = nil, mode: String? = nil, partitions: [Int] = []) {
        self.member = member
        self.pid = pid
        self.host = host
        self.since = since
        self.topic = topic
        self.mode = mode
        self.partitions = partitions
    }

    /// This process, as an administrative holder (seek, rollback, delete).
    public static func administrator(now: Int64 = WallClock.nowMillis()) -> HolderInfo {
        HolderInfo(member: "admin-\(hostName)-\(getpid())", pid: getpid(), host: hostName, since: now)
    }

    public static let hostName: String = {
        var buffer = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }()

    /// "member M (pid P on host H since T)".
    public var summary: String {
        "member \(member) (pid \(pid)\(host.isEmpty ? "" : " on \(host)")\(since > 0 ? " since \(TimeParsing.formatISO8601(since))" : ""))"
    }
}
