import Foundation
import NumPyFormat
import TestSupport
import Testing

/// Archives built to exhaust a reader rather than merely confuse it: each must be
/// refused quickly, naming the file and member, without allocating what it claims.
@Suite struct NPZHostileTests {
    /// Writes `fuzz/hostile.py`'s archive of `kind` into `directory`.
    static func hostile(_ kind: String, in directory: ScratchFolder) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/hostile.py").path
        try python(
            "import runpy; sys.argv = ['hostile', '\(kind)', '\(kind).npz']; "
                + "runpy.run_path('\(script)', run_name='__main__')", in: directory)
        return directory.path("\(kind).npz")
    }

    /// The error from opening the archive and loading every member, and the seconds taken.
    static func failure(_ path: String) -> (NumPyFormatError?, Double) {
        let started = Date()
        let error = formatError {
            let archive = try NPZArchive(path: path)
            for name in archive.names { _ = try archive.array(named: name) }
        }
        return (error, Date().timeIntervalSince(started))
    }

    /// A small deflated member whose headers declare 8 GiB: refused by deflate's ratio
    /// limit before anything is allocated, whatever `maxBytes` allows.
    @Test func declaredZipBombIsRefusedBeforeAllocating() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let (error, seconds) = Self.failure(try Self.hostile("bomb-declared", in: directory))
        #expect(error?.member == "x.npy")
        #expect(
            error?.message.contains("declares 8589934592: a lying header or zip bomb") == true,
            "\(String(describing: error))")
        #expect(error?.limit == nil)
        #expect(seconds < 1)
    }

    /// A member declaring 1 MiB whose stream inflates to 256 MiB: inflation stops one
    /// byte past the declared size.
    @Test func inflatingZipBombStopsAtTheDeclaredSize() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let (error, seconds) = Self.failure(try Self.hostile("bomb-inflating", in: directory))
        #expect(
            error?.message.contains("declared 1048576 bytes, but it inflates to more") == true,
            "\(String(describing: error))")
        #expect(seconds < 1)
    }

    /// Member y's bytes lie inside member x's: refused at open, whatever each member holds.
    @Test func overlappingMembersAreRefused() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let (error, _) = Self.failure(try Self.hostile("overlapping", in: directory))
        #expect(error?.member == "y.npy")
        #expect(error?.offset == 35)
        #expect(error?.message.contains("lies inside member 'x.npy'") == true, "\(String(describing: error))")
    }

    @Test func zip64RecordPastTheEnd() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let (error, _) = Self.failure(try Self.hostile("zip64-past-end", in: directory))
        #expect(
            error?.message.contains("points to offset 1099511627776, past the end of the file") == true,
            "\(String(describing: error))")
    }

    @Test func headerClaimingTwoToTheSixtyElements() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let (error, _) = Self.failure(try Self.hostile("header-2-pow-60", in: directory))
        #expect(error?.message.contains("shape (1152921504606846976,)") == true, "\(String(describing: error))")
        #expect(error?.message.contains("the data is cut short") == true)
    }

    @Test func declaredSizeWithinRatioButOverMaxBytes() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = directory.path("z.npz")
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: .deflated))
        try writer.add("x", try NPYArray([Float](repeating: 0, count: 100_000)))
        try writer.finish()
        let error = formatError {
            _ = try NPZArchive(path: path, options: NPYReadOptions(maxBytes: 1000)).array(named: "x")
        }
        #expect(error?.limit == .maxBytes)
        #expect(error?.message.contains("at most 1000 bytes once inflated (maxBytes)") == true)
        #expect(error?.description(limitHint: "use --max-bytes").hasSuffix("; use --max-bytes") == true)
    }

    @Test func tooManyMembersIsRefusedBeforeParsing() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = try Self.manyMembers(10_000, in: directory)
        let error = formatError { _ = try NPZArchive(path: path) }
        #expect(error?.limit == .maxMembers)
        #expect(error?.message.contains("at most 4096 members (maxMembers), found 10000") == true)
    }

    /// With the bound raised, 10,000 members open in well under a second: no step of
    /// opening is quadratic in the member count.
    @Test func tenThousandMembersOpenQuickly() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = try Self.manyMembers(10_000, in: directory)
        let started = Date()
        let archive = try NPZArchive(path: path, options: NPYReadOptions(maxMembers: 20_000))
        let elapsed = Date().timeIntervalSince(started)
        #expect(archive.members.count == 10_000)
        #expect(elapsed < 0.5, "opening 10,000 members took \(elapsed) s")
        let error = formatError { _ = try archive.array(named: "missing") }
        #expect(error?.message.contains("and 9980 more") == true)
        #expect((error?.description.count ?? 0) < 400)
    }

    static func manyMembers(_ count: Int, in directory: ScratchFolder) throws -> String {
        let path = directory.path("many.npz")
        let writer = try NPZWriter(path: path)
        let tiny = try NPYArray([UInt8(1)])
        for i in 0..<count { try writer.add("a\(i)", tiny) }
        try writer.finish()
        return path
    }
}
