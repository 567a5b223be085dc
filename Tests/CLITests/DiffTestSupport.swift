import Foundation
import Testing

/// A temporary directory of .npz/.npy files written by numpy itself, so the tests see
/// exactly what users' files look like (ZIP64 extras, descr spellings, Fortran order).
extension ScratchFolder {

    /// `np.savez(name, <arrays>)`, where `arrays` is Python keyword-argument source such
    /// as `x=np.array([1, 2], np.float32)`. Returns the path.
    @discardableResult
    func savez(_ name: String, _ arrays: String) throws -> String {
        let path = self.path(name)
        try Self.python("import numpy as np; np.savez(\(Self.quoted(path)), \(arrays))")
        return path
    }

    /// `np.save(name, <array>)`.
    @discardableResult
    func save(_ name: String, _ array: String) throws -> String {
        let path = self.path(name)
        try Self.python("import numpy as np; np.save(\(Self.quoted(path)), \(array))")
        return path
    }

    static func quoted(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "\\'") + "'" }

    @discardableResult
    static func python(_ source: String, stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", source]
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PythonFailure(message: String(decoding: stderr, as: UTF8.self))
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    struct PythonFailure: Error { var message: String }
}

/// `bnfile diff ... --json`, parsed.
struct DiffJSON {
    let status: Int32
    let document: [String: Any]

    static func run(_ arguments: [String]) throws -> DiffJSON {
        let result = try BNFileBinary.run(["diff"] + arguments + ["--json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let document = try #require(object as? [String: Any], "not a JSON object: \(result.stdout) \(result.stderr)")
        return DiffJSON(status: result.status, document: document)
    }

    var keys: [[String: Any]] { document["keys"] as? [[String: Any]] ?? [] }

    func key(_ name: String) throws -> [String: Any] {
        try #require(keys.first { $0["key"] as? String == name }, "no key \(name) in \(keys.map { $0["key"] ?? "?" })")
    }

    /// The plain comparison of a key (nil for structural outcomes).
    func comparison(_ name: String) throws -> [String: Any]? {
        (try key(name)["outcome"] as? [String: Any])?["comparison"] as? [String: Any]
    }

    func outcomeKind(_ name: String) throws -> String? {
        (try key(name)["outcome"] as? [String: Any])?["kind"] as? String
    }

    /// Side "a" or "b" of a key's truth judgement.
    func side(_ name: String, _ side: String) throws -> [String: Any] {
        let truth = try #require(try key(name)["truth"] as? [String: Any], "\(name) has no truth judgement")
        return try #require(truth[side] as? [String: Any])
    }
}

/// Every line of the process output, without the empty last one.
func outputLines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
}
