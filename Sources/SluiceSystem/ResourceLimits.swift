#if canImport(Glibc)
import Glibc
#endif

/// The process's descriptor limit. A producer to a topic of many partitions
/// keeps three files open per partition it writes; under the usual soft limit
/// of 1024 that ran out at a few hundred partitions.
public enum ResourceLimits {
    /// Raises the soft limit on open files to the hard limit, as servers do at
    /// start (the hard limit is what the administrator allows).
    public static func raiseOpenFilesLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The soft limit on open files now.
    public static var openFiles: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: no limit
    }
}
