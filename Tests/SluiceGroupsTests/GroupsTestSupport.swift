import Foundation
import SluiceCore
import SluiceStorage
import SluiceSystem
import TestSupport

@testable import SluiceGroups

/// Creating `__consumer_offsets` makes 50 partitions durably (hundreds of
/// fsyncs); the tests make it once per process and copy it.
enum OffsetsTemplate {
    static let path: String = {
        let dir = NSTemporaryDirectory() + "/sluice-groups-template-\(getpid())"
        try? FileSystem.removeTree(dir)
        let data = try! DataDirectory.open(dir)
        _ = try! OffsetsStore(directory: data).ensureOffsetsTopic()
        atexit { try? FileSystem.removeTree(OffsetsTemplate.path) }
        return dir
    }()
}

/// A fresh sluice data directory (with the offsets topic) and a store over it.
func makeStore(_ dir: TemporaryDirectory) throws -> (DataDirectory, OffsetsStore) {
    try FileManager.default.copyItem(atPath: OffsetsTemplate.path, toPath: dir.path + "/data")
    let data = try DataDirectory.open(dir.path + "/data")
    return (data, OffsetsStore(directory: data))
}
