import Testing

@testable import NumPyFormat

/// The carry-less-multiply CRC and the threaded split against zlib's own crc32 (which
/// `CRC32.update` uses alone whenever a test passes a piece size).
@Suite struct FoldedCRCTests {
    static let data = ZlibChunkingTests.bytes(20 << 20)

    func zlib(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 { CRC32.update(crc, bytes, chunk: 1 << 29) }

    /// Every length up to 300 (below, at and above the 64-byte minimum and the 16-byte
    /// steps) at every alignment, from three starting CRCs. (Without the instructions
    /// this would compare zlib with itself.)
    @Test(.enabled(if: CRC32.foldingAvailable))
    func smallBuffersAtEveryAlignmentMatchZlib() {
        Self.data.withUnsafeBytes { all in
            for start in [UInt32(0), 0xFFFF_FFFF, 0x1234_5678] {
                for alignment in 0..<16 {
                    for length in 0...300 {
                        let piece = UnsafeRawBufferPointer(rebasing: all[alignment..<alignment + length])
                        let ours = CRC32.update(start, piece), theirs = zlib(start, piece)
                        if ours != theirs {
                            Issue.record("length \(length), alignment \(alignment), start \(start)")
                            return
                        }
                    }
                }
            }
        }
    }

    /// Buffers large enough to be split between threads, with lengths that leave odd
    /// tails on the last piece.
    @Test(arguments: [8 << 20, (8 << 20) + 1, (16 << 20) + 77, 20 << 20])
    func largeBuffersMatchZlib(length: Int) {
        Self.data.withUnsafeBytes { all in
            let piece = UnsafeRawBufferPointer(rebasing: all[0..<length])
            #expect(CRC32.update(0, piece) == zlib(0, piece))
            #expect(CRC32.update(0xDEAD_BEEF, piece) == zlib(0xDEAD_BEEF, piece))
        }
    }
}
