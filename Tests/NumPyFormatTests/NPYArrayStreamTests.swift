import NumPyFormat
import TestSupport
import Testing

/// Arrays read in pieces (`NPYArrayStream`) against the same arrays read whole: the same
/// header, the same bytes in storage order, and for every corruption of a member's
/// bytes the same verdict, reported with the same message.
@Suite struct NPYArrayStreamTests {
    /// Arrays of every kind the readers treat differently: C and Fortran order, bools
    /// (whose bytes are checked), strings (whose code points are), big-endian and
    /// bfloat16 data, a 0-d and an empty array.
    static func arrays() throws -> [(String, NPYArray)] {
        let floats = try NPYArray((0..<35).map { Float($0) / 7 }, shape: [5, 7])
        let fortran = try NPYArray((0..<24).map { Int64($0) }, shape: [2, 3, 4], fortranOrder: true)
        let big = try NPYArray(
            header: NPYArrayHeader(dtype: NPYDType(kind: .float, itemSize: 8, byteOrder: .big), shape: [3]),
            bytes: [0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0x08, 0, 0, 0, 0, 0, 0])
        let brain = try NPYArray(
            header: NPYArrayHeader(dtype: .bfloat16(), shape: [4]),
            bytes: [0x80, 0x3F, 0, 0x40, 0x40, 0x40, 0x80, 0xBF])
        return [
            ("x", floats), ("k", fortran), ("b", try NPYArray([true, false, true, true, false, false, true])),
            ("s", try NPYArray(strings: ["ab", "c", "déf", "", "g", "hij"], shape: [3, 2])),
            ("e", big), ("h", brain), ("z", try NPYArray([Double(2.5)], shape: [])), ("n", try NPYArray([Int16]())),
        ]
    }

    static func write(_ arrays: [(String, NPYArray)], compressed: Bool, in directory: ScratchFolder) throws
        -> String
    {
        let path = directory.path(compressed ? "deflated.npz" : "stored.npz")
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
        for (name, array) in arrays { try writer.add(name, array) }
        try writer.finish()
        return path
    }

    /// The pieces' bytes joined, and each piece checked against where it says it starts.
    static func streamedBytes(_ stream: NPYArrayStream, maxBytes: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let itemSize = stream.header.dtype.itemSize
        try stream.forEachPiece(maxBytes: maxBytes) { piece in
            #expect(piece.startIndex * itemSize == bytes.count)
            #expect(piece.bytes.count == piece.count * itemSize)
            #expect(piece.bytes.count <= max(maxBytes, itemSize))
            if piece.dtype.kind.isString { _ = try piece.strings() }
            bytes += piece.bytes
        }
        return bytes
    }

    @Test(arguments: [false, true], [1, 7, 64, NPYArrayStream.defaultPieceSize])
    func piecesReassembleTheArray(compressed: Bool, maxBytes: Int) throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let archive = try NPZArchive(path: Self.write(Self.arrays(), compressed: compressed, in: directory))
        for name in archive.names {
            let whole = try archive.array(named: name)
            let stream = try archive.arrayStream(named: name)
            #expect(stream.header == whole.header)
            #expect(stream.checksum == .verified)
            #expect(try Self.streamedBytes(stream, maxBytes: maxBytes) == whole.bytes, "\(name)")
            // A second pass reads the same bytes again.
            #expect(try Self.streamedBytes(stream, maxBytes: maxBytes) == whole.bytes, "\(name), second pass")
        }
    }

    @Test func elementsConvertAsWholeArraysDo() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let archive = try NPZArchive(path: Self.write(Self.arrays(), compressed: true, in: directory))
        for name in ["x", "e", "h", "b", "z"] {
            var streamed: [Double] = []
            try archive.arrayStream(named: name).forEachPiece(maxBytes: 8) { piece in
                try piece.withElements(as: Double.self) { streamed += $0 }
            }
            #expect(streamed == (try archive.array(named: name).elements(as: Double.self)), "\(name)")
        }
        #expect(throws: NumPyFormatError.self) {
            try archive.arrayStream(named: "x").forEachPiece { piece in
                _ = try piece.withElements(as: Int32.self) { $0 }
            }
        }
    }

    /// The C-order element `i` is where `storagePosition` says, in every layout.
    @Test func storagePositionsFindCOrderElements() throws {
        for (shape, fortran) in [([2, 3, 4], true), ([2, 3, 4], false), ([1, 5, 1], true), ([6], true)] {
            let count = shape.reduce(1, *)
            let stored = (0..<count).map { Int32($0) }
            let array = try NPYArray(stored, shape: shape, fortranOrder: fortran)
            let cOrder = try array.elements(as: Int32.self)
            for i in 0..<count {
                #expect(stored[array.header.storagePosition(ofCOrderIndex: i)] == cOrder[i], "\(shape) \(i)")
            }
        }
    }

    @Test func npyFilesStreamToo() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        for (name, array) in try Self.arrays() {
            let path = directory.path("\(name).npy")
            try NPYFile.write(array, to: path)
            let whole = try NPYFile.read(path: path)
            let declared = array.dtype.kind == .bfloat16
            let stream = try NPYFile.arrayStream(path: path, declaringBFloat16: declared)
            #expect(stream.header == (declared ? try whole.declaredBFloat16().header : whole.header))
            #expect(stream.checksum == .absent)
            #expect(try Self.streamedBytes(stream, maxBytes: 16) == whole.bytes, "\(name)")
        }
    }

    /// Every byte of every member's stored or compressed data, changed in turn: the
    /// stream and the whole read must both succeed with the same bytes, or fail with the
    /// same message, with the CRC checked (it then wins over every other finding) and
    /// without it (the deflate stream's, the header's, the bool bytes' and the strings'
    /// own checks decide).
    @Test(arguments: [false, true], [true, false])
    func everyCorruptionGetsTheWholeReadsVerdict(compressed: Bool, verifyCRC: Bool) throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let arrays = Array(try Self.arrays().filter { $0.0 != "h" })
        _ = try Self.write(arrays, compressed: compressed, in: directory)
        let good = try directory.read(compressed ? "deflated.npz" : "stored.npz")
        let members = try NPZArchive(path: directory.write(good, to: "probe.npz")).members
        var options = NPYReadOptions()
        options.verifyCRC = verifyCRC
        var disagreements = 0
        for member in members {
            for offset in member.dataOffset..<(member.dataOffset + member.compressedSize) {
                var bytes = good
                bytes[offset] ^= offset % 2 == 0 ? 0x5A : 0x01
                let archive = try NPZArchive(path: directory.write(bytes, to: "bad.npz"), options: options)
                let whole = Self.verdict { () -> [UInt8] in
                    let array = try archive.array(named: member.name)
                    if array.dtype.kind.isString { _ = try array.strings() }
                    return array.bytes
                }
                let streamed = Self.verdict {
                    try Self.streamedBytes(archive.arrayStream(named: member.name), maxBytes: 5)
                }
                if whole != streamed {
                    disagreements += 1
                    Issue.record("\(member.memberName) byte \(offset): whole \(whole), streamed \(streamed)")
                }
                if disagreements > 5 { return }
            }
        }
    }

    /// "ok" and the bytes, or the error's one-line description.
    static func verdict(_ read: () throws -> [UInt8]) -> String {
        do {
            return "ok \(try read())"
        } catch {
            return "\(error)"
        }
    }
}
