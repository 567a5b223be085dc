import Foundation

/// A temporary folder for one test, removed by `cleanup()`. Each family of CLI tests
/// adds its own helpers in an extension (BatchTestSupport, DiffTestSupport, ...).
struct ScratchFolder {
    let url: URL

    init(prefix: String = "bnfile-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }

    /// The repository root, for the committed fixtures under data/.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

typealias BatchScratch = ScratchFolder
typealias InspectScratch = ScratchFolder
typealias DiffScratch = ScratchFolder
typealias ReliabilityScratch = ScratchFolder
