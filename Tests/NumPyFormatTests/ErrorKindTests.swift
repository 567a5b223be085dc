import Foundation
import NumPyFormat
import TestSupport
import Testing

/// Callers switch on `NumPyFormatError.kind`; the kinds carry the figures the message
/// states, and the message itself is the same one line as before kinds existed.
@Suite struct ErrorKindTests {
    static func archive(compressed: Bool, in directory: ScratchFolder) throws -> [UInt8] {
        let path = directory.path("good.npz")
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
        try writer.add("x", try NPYArray([Float](repeating: 1.5, count: 16)))
        try writer.finish()
        return try directory.read("good.npz")
    }

    @Test func aCRCMismatchCarriesBothChecksums() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        var bytes = try Self.archive(compressed: false, in: directory)
        let archive0 = try NPZArchive(path: directory.write(bytes, to: "probe.npz"))
        let member = try #require(archive0.member(named: "x"))
        bytes[member.dataOffset + member.compressedSize - 1] ^= 1
        let archive = try NPZArchive(path: directory.write(bytes, to: "bad.npz"))
        let error = try #require(formatError { _ = try archive.array(named: "x") })
        guard case .checksumMismatch(let expected, let found) = error.kind else {
            Issue.record("kind \(error.kind)")
            return
        }
        #expect(expected == member.crc32 && found != expected)
        #expect(error.message.contains(String(found, radix: 16)))
        #expect(error.member == "x.npy" && error.offset == member.dataOffset)
    }

    @Test func truncationSaysHowMuchWasExpectedAndFound() throws {
        let whole = try NPYFile.encode(NPYArray([Double](repeating: 2, count: 4)))
        let error = try #require(formatError { _ = try NPYFile.read(bytes: Array(whole.dropLast(5)), name: "cut.npy") })
        #expect(error.kind == .truncated(expected: 32, found: 27), "\(error.kind)")
        #expect(error.description.hasPrefix("cut.npy: offset \(whole.count - 5): expected 32 bytes of array data"))
    }

    @Test func exceededLimitsNameTheBoundAndTheNeed() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let bytes = try Self.archive(compressed: true, in: directory)
        let path = try directory.write(bytes, to: "z.npz")
        let archive = try NPZArchive(path: path, options: NPYReadOptions(maxBytes: 100))
        let error = try #require(formatError { _ = try archive.array(named: "x") })
        #expect(error.kind == .limitExceeded(.maxBytes, maximum: 100, found: 128 + 64))
        #expect(error.limit == .maxBytes)
        let members = try #require(
            formatError { _ = try NPZArchive(path: path, options: NPYReadOptions(maxMembers: 0)) })
        #expect(members.kind == .limitExceeded(.maxMembers, maximum: 0, found: 1))
    }

    @Test func everyOtherKindIsReachable() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let garbage = try directory.write(Array("not an archive at all, not even close".utf8), to: "g.npz")
        #expect(formatError { _ = try NPZArchive(path: garbage) }?.kind == .wrongFormat)
        #expect(formatError { _ = try NPZArchive(path: directory.path("absent.npz")) }?.kind == .system)
        let good = try directory.write(try Self.archive(compressed: false, in: directory), to: "ok.npz")
        let archive = try NPZArchive(path: good)
        #expect(formatError { _ = try archive.array(named: "y") }?.kind == .missingArray("y"))
        let x = try archive.array(named: "x")
        #expect(formatError { _ = try x.elements(as: Int64.self) }?.kind == .lossyConversion(from: x.dtype))
        let bools = npyBytes(header: "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", data: [1, 7])
        #expect(formatError { _ = try NPYFile.read(bytes: bools) }?.kind == .corruptData)
        let structured = npyBytes(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")
        #expect(formatError { _ = try NPYFile.read(bytes: structured) }?.kind == .unsupported)
        let keyless = npyBytes(header: "{'descr': '<f4', 'shape': (1,), }")
        #expect(formatError { _ = try NPYFile.read(bytes: keyless) }?.kind == .malformed)
        let writer = try NPZWriter(path: directory.path("w.npz"))
        #expect(formatError { try writer.finish() }?.kind == .invalidRequest)
    }

    /// What `DTypeError` used to be: an error about no file, whose one line is the message.
    @Test func dtypeErrorsAreFormatErrorsWithoutAFile() {
        do {
            _ = try NPYDType(descr: "|O")
            Issue.record("object dtype accepted")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.file.isEmpty && error.description == error.message)
            #expect(error.message == "object dtype '|O' is not supported: object arrays are Python pickles")
        }
    }
}
