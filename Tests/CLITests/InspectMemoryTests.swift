import Foundation
import NumPyFormat
import TestSupport
import Testing

/// `bnfile inspect` reads members as streams: memory stays bounded (64 MiB here, the
/// figure the README states) whatever a member's size, stored or deflated, with the CRC
/// checked and with --stats. Each archive below holds more than that, so a reader that
/// loaded a member whole would fail these tests. Peaks are bnfile's alone
/// (`runMeasuringMemory`), not counting the test process's memory, and held to the bound
/// on ordinary builds only (``ProcessOutcome/peaksAreBounded``).
@Suite struct InspectMemoryTests {
    static let boundKiB = 64 << 10

    static func expectBounded(_ result: ProcessOutcome, sourceLocation: SourceLocation = #_sourceLocation) {
        guard ProcessOutcome.peaksAreBounded else { return }
        #expect(result.maxResidentKiB <= boundKiB, "peak \(result.maxResidentKiB) KiB", sourceLocation: sourceLocation)
    }

    @Test func aHugeDeflatedMemberIsCheckedInBoundedMemory() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.hostile("huge-deflated")
        let result = try BNFileBinary.runMeasuringMemory(["inspect", input])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("<f4  (268435456,)  C  v1.0  deflated"), "\(result.stdout)")
        #expect(result.stdout.contains("/1073741952 bytes  crc ok"), "\(result.stdout)")
        Self.expectBounded(result)
    }

    /// 96 MiB of float64 stored and 96 MiB deflated, with --stats (two passes each).
    @Test func statisticsOfLargeMembersStreamInBoundedMemory() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = scratch.path("large.npz")
        try scratch.python(
            """
            import zipfile, io
            pattern = np.arange(1 << 20, dtype='<f8').tobytes()
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {'descr': '<f8', 'fortran_order': False, 'shape': (12 << 20,)})
            with zipfile.ZipFile(\(Python.quoted(input)), 'w') as archive:
                for name, method in (('s.npy', zipfile.ZIP_STORED), ('d.npy', zipfile.ZIP_DEFLATED)):
                    info = zipfile.ZipInfo(name)
                    info.compress_type = method
                    with archive.open(info, 'w', force_zip64=True) as member:
                        member.write(header.getvalue())
                        for _ in range(12):
                            member.write(pattern)
            """)
        let result = try BNFileBinary.runMeasuringMemory(["inspect", "--stats", "--json", input])
        #expect(result.status == 0, "\(result.stderr)")
        Self.expectBounded(result)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let arrays = try #require((document["files"] as? [[String: Any]])?.first?["arrays"] as? [[String: Any]])
        #expect(arrays.map { $0["storage"] as? String } == ["stored", "deflated"])
        for array in arrays {
            #expect(array["crc"] as? String == "ok")
            let stats = try #require(array["stats"] as? [String: Any])
            // The values are 12 copies of 0, 1, ..., 2^20 - 1: every sum is exact.
            let n = Double(1 << 20)
            #expect(stats["min"] as? Double == 0 && stats["max"] as? Double == n - 1)
            #expect(stats["mean"] as? Double == (n - 1) / 2)
            let std = try #require(stats["std"] as? Double)
            #expect(abs(std - ((n * n - 1) / 12).squareRoot()) <= 1e-9 * std, "std \(std)")
        }
    }

    @Test func aBadCRCInAStreamedMemberIsOneLine() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.hostile("deflated-bad-crc")
        for arguments in [["inspect", input], ["inspect", "--stats", input]] {
            let result = try BNFileBinary.run(arguments)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty || !result.stdout.contains("crc ok"), "\(result.stdout)")
            #expect(
                outputLines(result.stderr) == [
                    "bnfile: error: \(input): member 'x.npy': offset 35: expected CRC-32 0x12345678 as declared, "
                        + "found 0xba13477a in the member's data: the data is corrupt"
                ])
        }
    }

    @Test func aDeflateStreamCutShortIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.hostile("deflate-cut-short")
        let result = try BNFileBinary.run(["inspect", "--stats", input])
        #expect(result.status == 2)
        let lines = outputLines(result.stderr)
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("bnfile: error: \(input): member 'x.npy': offset ") == true, "\(result.stderr)")
        #expect(lines.first?.contains("expected the deflate stream to end within the declared") == true)
        #expect(lines.first?.contains("compressed data cut short") == true)
    }
}
