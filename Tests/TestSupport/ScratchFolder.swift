import Foundation

/// A temporary folder for one test, removed by `cleanup()`.
public struct ScratchFolder: Sendable {
    public let url: URL

    public init(prefix: String = "bnfile-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func cleanup() { try? FileManager.default.removeItem(at: url) }

    /// Runs a Python snippet (numpy imported as np, and os and sys) in this folder and
    /// returns what it printed.
    @discardableResult
    public func python(_ script: String) throws -> String {
        try Python.run("import numpy as np, os, sys\n" + script, in: url.path)
    }

    /// `np.savez(name, <arrays>)`, where `arrays` is Python keyword-argument source such
    /// as `x=np.array([1, 2], np.float32)`. Returns the path.
    @discardableResult
    public func savez(_ name: String, _ arrays: String) throws -> String {
        let path = self.path(name)
        try python("np.savez(\(Python.quoted(path)), \(arrays))")
        return path
    }

    /// `np.save(name, <array>)`. Returns the path.
    @discardableResult
    public func save(_ name: String, _ array: String) throws -> String {
        let path = self.path(name)
        try python("np.save(\(Python.quoted(path)), \(array))")
        return path
    }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    public func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    public func bytes(_ name: String) -> Data? { readWholeFile(path(name)) }

    public func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// The names in a folder, sorted (hidden temporaries included, to catch leftovers).
    public func listing(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(folder)).sorted()
    }
}
