import Foundation
import Testing

@testable import NumPyFormat

/// Replays every input the fuzzers (`make fuzz`) ever crashed on, kept in
/// `fuzz/crashers/<target>/`: each must now be refused with a `NumPyFormatError`.
/// A crash here stops the whole test run, which is the point.
@Suite struct FuzzCrasherTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/crashers")

    /// The files of one target's folder (README and dot files excepted), sorted.
    static func inputs(_ target: String) -> [URL] {
        let folder = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }.sorted()
            .map { folder.appendingPathComponent($0) }
    }

    /// Each folder exists and holds at least one case, so that none of the replays below
    /// can pass by having nothing to replay.
    @Test func theCrasherFoldersHoldCases() {
        for target in ["npy", "npz", "inflate"] {
            var isFolder: ObjCBool = false
            #expect(
                FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent(target).path, isDirectory: &isFolder) && isFolder.boolValue
            )
            #expect(!Self.inputs(target).isEmpty, "fuzz/crashers/\(target) holds no case")
        }
    }

    @Test(arguments: inputs("npy"))
    func npyCrasherIsRefused(_ input: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: input))
        _ = formatError { _ = try NPYFile.read(bytes: bytes, name: input.lastPathComponent) }
    }

    @Test(arguments: inputs("npz"))
    func npzCrasherIsRefused(_ input: URL) throws {
        _ = formatError {
            let archive = try NPZArchive(path: input.path, options: NPYReadOptions(maxBytes: 1 << 24))
            for name in archive.names { _ = try archive.array(named: name) }
        }
    }

    /// Same framing as fuzz/targets/inflate.swift: two bytes of declared size, then the stream.
    @Test(arguments: inputs("inflate"))
    func inflateCrasherIsRefused(_ input: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: input))
        try #require(bytes.count >= 2, "an inflate case starts with two bytes of declared size")
        let declared = Int(bytes[0]) | Int(bytes[1]) << 8
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(declared, 1), alignment: 64)
        defer { output.deallocate() }
        let error = formatError {
            try bytes[2...].withUnsafeBytes { stream in
                _ = try Inflate.inflate(
                    stream, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<declared]),
                    context: ErrorContext(file: input.lastPathComponent), inputOffset: 0)
            }
        }
        #expect(error?.file == input.lastPathComponent && error?.offset != nil, "\(String(describing: error))")
    }
}
