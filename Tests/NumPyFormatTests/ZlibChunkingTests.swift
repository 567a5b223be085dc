import Testing

@testable import NumPyFormat

/// zlib takes 32-bit lengths, so buffers over 4 GiB go through zlib in pieces. The
/// piece size is a parameter, so these tests run that path on small buffers with
/// pieces of a few bytes, where every boundary case occurs many times over.
@Suite struct ZlibChunkingTests {
    static func bytes(_ count: Int) -> [UInt8] {
        var state: UInt64 = 99
        return (0..<count).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Half noise, half runs, so deflate has something to match.
            return i % 4096 < 2048 ? UInt8(truncatingIfNeeded: state >> 56) : UInt8(i % 7)
        }
    }

    @Test(arguments: [1, 7, 4096])
    func checksumsDoNotDependOnThePieces(chunk: Int) {
        let data = Self.bytes(100_003)
        data.withUnsafeBytes { raw in
            #expect(CRC32.update(0, raw, chunk: chunk) == CRC32.checksum(raw))
        }
    }

    @Test(arguments: [1, 13, 65_536])
    func deflateAndInflateInPiecesRoundTrip(chunk: Int) throws {
        let data = Self.bytes(100_003)
        let deflater = try Deflater(level: .default, name: "test")
        var compressed: [UInt8] = []
        try data.withUnsafeBytes { raw in
            try deflater.compress(raw, chunk: chunk) { compressed += $0 }
            try deflater.finish { compressed += $0 }
        }
        // Chunked input gives zlib the same bytes, so the stream is the same as one call's.
        let whole = try Deflater(level: .default, name: "test")
        var reference: [UInt8] = []
        try data.withUnsafeBytes { raw in
            try whole.compress(raw) { reference += $0 }
            try whole.finish { reference += $0 }
        }
        #expect(compressed == reference)
        var restored = [UInt8](repeating: 0, count: data.count)
        let crc = try compressed.withUnsafeBytes { input in
            try restored.withUnsafeMutableBytes { output in
                try Inflate.inflate(
                    input, into: output, context: ErrorContext(file: "test"), inputOffset: 0,
                    chunk: chunk)
            }
        }
        #expect(restored == data)
        #expect(crc == data.withUnsafeBytes { CRC32.checksum($0) })
    }
}
