import ArgumentParser
import SluiceLocal
import SluiceOperations
import SluiceStorage
import SluiceStore
import SluiceSystem

#if canImport(Glibc)
import Glibc
#endif

/// Shell completion of topic and group names (`completions/`): the names in
/// the data directory in effect — a `--data-dir` already on the command line,
/// else $SLUICE_DATA_DIR, else the default. The shell runs this on every
/// <TAB>, so it only reads, never waits for a lock, and completes nothing
/// rather than print an error.
enum Completions {
    static let topics = CompletionKind.custom { words, _, _ in
        names(words) { try $0.topicNames() }
    }

    /// The groups `group list` shows: with committed offsets (a deleted group
    /// has none), or with running members.
    static let groups = CompletionKind.custom { words, _, _ in
        names(words) { directory in
            let store = LocalStore(directory)
            let committed = try store.allCommittedOffsets().filter { !$0.value.isEmpty }.keys
            return Set(committed).union(try store.allActiveGroups()).sorted()
        }
    }

    static let redistributions = CompletionKind.custom { words, _, _ in
        names(words) { try RedistributionStore(directory: $0).all().map(\.name).sorted() }
    }

    private static func names(_ words: [String], _ list: (DataDirectory) throws -> [String]) -> [String] {
        LockWait.timeoutMillis = 0
        guard let common = try? CommonOptions.parse(dataDirArguments(words)),
            let directory = try? DataDirectory.open(common.path)
        else { return [] }
        return (try? list(directory)) ?? []
    }

    /// `--data-dir PATH` or `--data-dir=PATH` from the words typed so far (the
    /// last one wins, as when the command runs), else nothing.
    static func dataDirArguments(_ words: [String]) -> [String] {
        var found: String?
        for (index, word) in words.enumerated() {
            if word == "--data-dir", index + 1 < words.count {
                found = words[index + 1]
            } else if word.hasPrefix("--data-dir=") {
                found = String(word.dropFirst("--data-dir=".count))
            }
        }
        guard var path = found, !path.isEmpty else { return [] }
        if path.hasPrefix("~/"), let home = getenv("HOME") { path = String(cString: home) + path.dropFirst() }
        return ["--data-dir", path]
    }
}
