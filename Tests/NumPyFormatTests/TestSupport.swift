import NumPyFormat
import TestSupport
import Testing

/// Runs a Python script in `directory` with numpy imported as `np` (and os and sys);
/// returns what it printed and throws, failing the test, if it fails.
@discardableResult
func python(_ script: String, in directory: ScratchFolder) throws -> String {
    try directory.python(script)
}

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
