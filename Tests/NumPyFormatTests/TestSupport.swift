import Foundation
import NumPyFormat
import Testing

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("npy-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Runs a Python script with numpy imported as `np`; returns stdout, fails the test on error.
@discardableResult
func python(_ script: String, in directory: TemporaryDirectory) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import numpy as np, os, sys\n" + script]
    process.currentDirectoryURL = directory.url
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stdout = String(decoding: outData, as: UTF8.self)
    if process.terminationStatus != 0 {
        Issue.record("python failed: \(String(decoding: errData, as: UTF8.self))")
        throw PythonFailed()
    }
    return stdout
}

struct PythonFailed: Error {}

/// The error a closure throws, as a NumPyFormatError, recording an issue if there is none.
func formatError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> NumPyFormatError? {
    do {
        try body()
        Issue.record("expected an error, got none", sourceLocation: sourceLocation)
        return nil
    } catch let error as NumPyFormatError {
        return error
    } catch {
        Issue.record("expected NumPyFormatError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The .npy bytes of a hand-made header (version 1.0) followed by `data`.
func npyBytes(header text: String, data: [UInt8] = [], version: (UInt8, UInt8) = (1, 0)) -> [UInt8] {
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version.0, version.1]
    let textBytes = Array(text.utf8)
    if version.0 == 1 {
        bytes += [UInt8(textBytes.count & 0xff), UInt8(textBytes.count >> 8)]
    } else {
        withUnsafeBytes(of: UInt32(textBytes.count).littleEndian) { bytes += $0 }
    }
    return bytes + textBytes + data
}

extension Array where Element == UInt8 {
    func u32(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * $1) }
    }

    mutating func setU32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xff) }
    }

    mutating func setU16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value & 0xff)
        self[offset + 1] = UInt8(value >> 8)
    }

    /// Offsets of every occurrence of a 4-byte little-endian signature.
    func offsets(ofSignature signature: UInt32) -> [Int] {
        guard count >= 4 else { return [] }
        return (0...(count - 4)).filter { u32(at: $0) == signature }
    }
}
