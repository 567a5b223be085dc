import NumPyFormat
import TestSupport
import Testing

/// Stored members written a piece at a time (`NPZWriter.addStored`), as `bnfile run`
/// writes `out` and `dx` while the engine computes them.
@Suite struct NPZStreamedTests {
    let a = (0..<1000).map { Float($0) * 0.5 - 7 }
    let b = (0..<1000).map { Float(999 - $0) / 3 }
    var header: NPYArrayHeader { NPYArrayHeader(dtype: Float.npyDType, shape: [10, 100]) }

    /// Writes `a` and `b` whole, or streamed in interleaved pieces of `piece` elements,
    /// followed by a small array added the ordinary way.
    func write(to path: String, piece: Int?) throws {
        let writer = try NPZWriter(path: path)
        if let piece {
            try writer.addStored([("a", header), ("b", header)]) { pieces in
                var start = 0
                while start < a.count {
                    let end = min(a.count, start + piece)
                    try a[start..<end].withUnsafeBytes { try pieces.write($0, to: "a") }
                    try b[start..<end].withUnsafeBytes { try pieces.write($0, to: "b") }
                    start = end
                }
            }
        } else {
            try a.withUnsafeBufferPointer { try writer.add("a", elements: $0, shape: [10, 100]) }
            try b.withUnsafeBufferPointer { try writer.add("b", elements: $0, shape: [10, 100]) }
        }
        try [1.5, 2.5].withUnsafeBufferPointer { try writer.add("c", elements: $0, shape: [2]) }
        try writer.finish()
    }

    @Test func streamedPiecesGiveTheSameBytesAsWholeArrays() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try write(to: directory.path("whole.npz"), piece: nil)
        for piece in [1, 7, 64, 1000] {
            try write(to: directory.path("streamed\(piece).npz"), piece: piece)
            #expect(try directory.read("streamed\(piece).npz") == directory.read("whole.npz"), "pieces of \(piece)")
        }
        let archive = try NPZArchive(path: directory.path("streamed7.npz"))
        #expect(try archive.array(named: "b").elements(as: Float.self) == b)
        try python(
            """
            import zipfile
            with zipfile.ZipFile('streamed7.npz') as zf:
                assert zf.testzip() is None
            d = np.load('streamed7.npz')
            assert list(d.keys()) == ['a', 'b', 'c']
            assert np.array_equal(d['a'], (np.arange(1000, dtype='f4') * 0.5 - 7).reshape(10, 100))
            assert d['b'].dtype == np.float32 and d['b'].shape == (10, 100)
            """, in: directory)
    }

    @Test func refusesTooManyAndTooFewBytes() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let tooMany = formatError {
            let writer = try NPZWriter(path: directory.path("many.npz"))
            try writer.addStored([("a", header)]) { pieces in
                try a.withUnsafeBytes { try pieces.write($0, to: "a") }
                try a[0..<1].withUnsafeBytes { try pieces.write($0, to: "a") }
            }
        }
        #expect(tooMany?.member == "a.npy")
        #expect(tooMany?.description.contains("expected at most 0 more bytes of data, got 4") == true)
        let tooFew = formatError {
            let writer = try NPZWriter(path: directory.path("few.npz"))
            try writer.addStored([("a", header), ("b", header)]) { pieces in
                try a.withUnsafeBytes { try pieces.write($0, to: "a") }
                try b[0..<999].withUnsafeBytes { try pieces.write($0, to: "b") }
            }
        }
        #expect(tooFew?.member == "b.npy")
        #expect(tooFew?.description.contains("expected 4 more bytes of data") == true)
        // A failed write leaves the writer refusing further work, and a refused member
        // name leaves the others free.
        let writer = try NPZWriter(path: directory.path("names.npz"))
        try [Float(1)].withUnsafeBufferPointer { try writer.add("a", elements: $0, shape: [1]) }
        let duplicate = formatError { try writer.addStored([("b", header), ("a", header)]) { _ in } }
        #expect(duplicate?.description.contains("unique array names") == true)
        try writer.addStored([("b", NPYArrayHeader(dtype: Float.npyDType, shape: [1]))]) { pieces in
            try [Float(2)].withUnsafeBytes { try pieces.write($0, to: "b") }
        }
        try writer.finish()
        #expect(try NPZArchive(path: directory.path("names.npz")).names == ["a", "b"])
    }

    @Test func piecesAreAddressedByArrayName() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let unknown = formatError {
            let writer = try NPZWriter(path: directory.path("unknown.npz"))
            try writer.addStored([("a", header), ("b", header)]) { pieces in
                try a.withUnsafeBytes { try pieces.write($0, to: "c") }
            }
        }
        #expect(unknown?.kind == .invalidRequest)
        #expect(unknown?.message == "expected one of the arrays being added ('a', 'b'), got 'c'")
    }
}
