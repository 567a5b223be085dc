import Foundation
import NumPyFormat
import Testing

/// A temporary folder for batch-mode and Makefile tests, with helpers to fill it with
/// the committed fixtures (data/cases) and hand-made inputs.
extension ScratchFolder {

    /// Fixture inputs that `bnfile run` takes with its default flags (nchw, training),
    /// without the large one, to keep the debug-build tests quick.
    static func defaultFlagCases() throws -> [String] {
        let manifest = packageRoot.appendingPathComponent("data/cases/manifest.json")
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [[String: Any]] ?? []
        return entries.compactMap { entry in
            guard entry["layout"] as? String == "nchw", entry["eval"] as? Bool == false,
                  let name = entry["name"] as? String, name != "large_m_f32" else { return nil }
            return name
        }
    }

    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("data/cases/\(name).in.npz").path
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
    }

    /// Copies a fixture input to `name` (relative to the scratch folder).
    func copyFixture(_ fixture: String, to name: String) throws {
        try FileManager.default.copyItem(atPath: Self.fixture(fixture), toPath: path(name))
    }

    /// A file that is not an npz at all.
    func writeGarbage(_ name: String) throws {
        try Data("not a zip archive\n".utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    /// An npz with a small float32 x of shape (2, 3, 4) and the given extra members.
    func writeInput(_ name: String, extra: [String: NPYArray] = [:]) throws {
        let writer = try NPZWriter(path: path(name))
        try writer.add("x", try NPYArray((0 ..< 24).map { Float($0 % 7) * 0.25 }, shape: [2, 3, 4]))
        for (key, array) in extra.sorted(by: { $0.key < $1.key }) { try writer.add(key, array) }
        try writer.finish()
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// The names in a folder, sorted (hidden temporaries included, to catch leftovers).
    func listing(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(folder)).sorted()
    }
}

/// Runs any program (make, script) with the scratch folder as working directory.
enum BatchProcess {
    static func run(_ executable: String, _ arguments: [String], in directory: String) throws -> BNFileBinary.Result {
        try BNFileBinary.runProgram(executable, arguments, in: directory)
    }


    /// The absolute path of a program on PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
