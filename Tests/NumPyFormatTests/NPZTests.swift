import Glibc
import NumPyFormat
import TestSupport
import Testing

@Suite struct NPZTests {
    /// A few arrays covering dtypes, orders, 0-d and empty.
    func sampleArrays() throws -> [(String, NPYArray)] {
        [
            ("x", try NPYArray((0..<48).map { Float($0) * 0.5 }, shape: [4, 12])),
            ("mask", try NPYArray([true, false, true])),
            ("fortran", try NPYArray([Int16(0), 3, 1, 4, 2, 5], shape: [2, 3], fortranOrder: true)),
            (
                "big",
                try NPYArray(
                    header: NPYArrayHeader(dtype: NPYDType(descr: ">f8"), shape: [2]),
                    bytes: [0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0])
            ),
            ("scalar", try NPYArray([UInt64(7)], shape: [])),
            ("empty", try NPYArray([Double](), shape: [0, 3])),
            ("c", try NPYArray([NPYComplex64(1, 2)])),
        ]
    }

    func write(_ arrays: [(String, NPYArray)], to path: String, compressed: Bool) throws {
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
        for (name, array) in arrays { try writer.add(name, array) }
        try writer.finish()
    }

    @Test(arguments: [false, true])
    func roundTrips(compressed: Bool) throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let arrays = try sampleArrays()
        let path = directory.path("a.npz")
        try write(arrays, to: path, compressed: compressed)
        let archive = try NPZArchive(path: path)
        #expect(archive.names == arrays.map(\.0))
        for (name, original) in arrays {
            let member = try #require(archive.member(named: name))
            #expect(member.memberName == name + ".npy")
            #expect(member.storage == (compressed ? .deflated : .stored))
            let array = try archive.array(named: name)
            #expect(array.header.dtype == original.header.dtype)
            #expect(array.shape == original.shape && array.fortranOrder == original.fortranOrder)
            #expect(array.bytes == original.bytes)
            #expect(array.checksum == .verified)
            #expect(array.isMemoryMapped == !compressed)
            if !compressed {
                #expect(member.dataOffset % 64 == 0, "\(name) payload at \(member.dataOffset)")
                #expect(array.withUnsafeBytes { Int(bitPattern: $0.baseAddress) } % 64 == 0 || array.byteCount == 0)
            }
        }
        // Aligned either way: in the mapping (64-byte padded) or in a 64-byte aligned buffer.
        #expect(try archive.array(named: "x").isDirectlyUsable(as: Float.self))
        #expect(try archive.array(named: "fortran").elements(as: Int32.self) == [0, 1, 2, 3, 4, 5])
        #expect(try archive.array(named: "big").elements(as: Double.self) == [1.5, -2])
        let missing = formatError { _ = try archive.array(named: "nope") }
        #expect(missing?.message.contains("'nope'") == true)
    }

    @Test func storedMembersAreZeroCopyAndDeterministic() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let arrays = try sampleArrays()
        try write(arrays, to: directory.path("a.npz"), compressed: false)
        try write(arrays, to: directory.path("b.npz"), compressed: false)
        #expect(try directory.read("a.npz") == directory.read("b.npz"))
        try write(arrays, to: directory.path("c.npz"), compressed: true)
        try write(arrays, to: directory.path("d.npz"), compressed: true)
        #expect(try directory.read("c.npz") == directory.read("d.npz"))
        let archive = try NPZArchive(path: directory.path("a.npz"))
        let x = try archive.array(named: "x")
        #expect(x.isDirectlyUsable(as: Float.self))
        let inPlace = try x.withUnsafeElements(as: Float.self) { elements in
            x.withUnsafeBytes { $0.baseAddress == UnsafeRawPointer(elements.baseAddress) }
        }
        #expect(inPlace)
    }

    @Test func readsWhatNumpyWrites() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            import zipfile, io
            a = np.arange(12, dtype='<f4').reshape(3, 4)
            b = np.asfortranarray(np.arange(6, dtype='>i8').reshape(2, 3))
            np.savez('s.npz', a=a, b=b, flag=np.array(True))
            np.savez_compressed('z.npz', a=a, b=b, flag=np.array(True))
            # Members named without .npy, and data descriptors from an unseekable stream.
            class Unseekable(io.RawIOBase):
                def __init__(self, f): self.f = f
                def writable(self): return True
                def write(self, b): return self.f.write(b)
            with open('dd.npz', 'wb') as raw:
                with zipfile.ZipFile(Unseekable(raw), 'w', compression=zipfile.ZIP_DEFLATED) as zf:
                    for name, arr in [('a', a), ('b.npy', b)]:
                        buf = io.BytesIO(); np.save(buf, arr)
                        with zf.open(name, 'w', force_zip64=True) as f:
                            f.write(buf.getvalue())
            """, in: directory)
        for file in ["s.npz", "z.npz"] {
            let archive = try NPZArchive(path: directory.path(file))
            #expect(archive.names == ["a", "b", "flag"])
            #expect(archive.members[0].storage == (file == "s.npz" ? .stored : .deflated))
            #expect(try archive.array(named: "a").elements(as: Float.self) == (0..<12).map(Float.init))
            #expect(try archive.array(named: "b").elements(as: Int64.self) == [0, 1, 2, 3, 4, 5])
            #expect(try archive.array(named: "flag").elements(as: Bool.self) == [true])
            // numpy's stored data is not 64-aligned in the file; typed access still works.
            #expect(try archive.array(named: "b").withUnsafeElements(as: Int64.self) { $0.reduce(0, +) } == 15)
        }
        let descriptors = try NPZArchive(path: directory.path("dd.npz"))
        #expect(descriptors.names == ["a", "b"])
        #expect(descriptors.members.map(\.memberName) == ["a", "b.npy"])
        #expect(try descriptors.array(named: "a").elements(as: Double.self) == (0..<12).map(Double.init))
        #expect(try descriptors.array(named: "b").elements(as: Int64.self) == [0, 1, 2, 3, 4, 5])
    }

    @Test(arguments: [false, true])
    func numpyReadsWhatTheLibraryWrites(compressed: Bool) throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try write(try sampleArrays(), to: directory.path("ours.npz"), compressed: compressed)
        let result = try python(
            """
            import zipfile
            with zipfile.ZipFile('ours.npz') as zf:
                assert zf.testzip() is None
                assert [i.compress_type for i in zf.infolist()] == [\(compressed ? 8 : 0)] * 7
            d = np.load('ours.npz')
            assert list(d.keys()) == ['x', 'mask', 'fortran', 'big', 'scalar', 'empty', 'c'], list(d.keys())
            assert (d['x'] == np.arange(48, dtype='<f4').reshape(4, 12) * 0.5).all()
            assert d['mask'].tolist() == [True, False, True]
            assert d['fortran'].tolist() == [[0, 1, 2], [3, 4, 5]] and d['fortran'].flags.f_contiguous
            assert d['big'].dtype.str == '>f8' and d['big'].tolist() == [1.5, -2.0]
            assert d['scalar'].shape == () and d['scalar'] == 7 and d['scalar'].dtype == np.uint64
            assert d['empty'].shape == (0, 3)
            assert d['c'].tolist() == [1+2j] and d['c'].dtype == np.complex64
            print('ok')
            """, in: directory)
        #expect(result.contains("ok"))
    }

    /// The .npy payload of each stored member equals what np.savez stores for the same array.
    @Test func storedPayloadsMatchNpSavez() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            np.savez('theirs.npz', a=np.arange(10, dtype='<f4'), b=np.zeros((3, 1000), '>i2'),
                     c=np.asfortranarray(np.ones((2, 5), '<c16')), d=np.array(3.5), e=np.zeros((0,), '?'))
            """, in: directory)
        let theirs = try NPZArchive(path: directory.path("theirs.npz"))
        let ourPath = directory.path("ours.npz")
        let writer = try NPZWriter(path: ourPath)
        for name in theirs.names { try writer.add(name, try theirs.array(named: name)) }
        try writer.finish()
        let ours = try NPZArchive(path: ourPath)
        let theirBytes = try directory.read("theirs.npz"), ourBytes = try directory.read("ours.npz")
        for name in theirs.names {
            let t = try #require(theirs.member(named: name)), o = try #require(ours.member(named: name))
            #expect(t.uncompressedSize == o.uncompressedSize && t.crc32 == o.crc32, "\(name)")
            #expect(
                theirBytes[t.dataOffset..<(t.dataOffset + t.compressedSize)]
                    == ourBytes[o.dataOffset..<(o.dataOffset + o.compressedSize)], "\(name)")
        }
    }

    @Test func membersLoadIndependently() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = directory.path("a.npz")
        try write(try sampleArrays(), to: path, compressed: false)
        var bytes = try directory.read("a.npz")
        let archive = try NPZArchive(path: path)
        let x = try #require(archive.member(named: "x"))
        bytes[x.dataOffset + 200] ^= 0xff
        let corrupt = try directory.write(bytes, to: "corrupt.npz")
        let reopened = try NPZArchive(path: corrupt)
        #expect(try reopened.array(named: "mask").elements(as: Bool.self) == [true, false, true])
        #expect(formatError { _ = try reopened.array(named: "x") } != nil)
        let unchecked = try NPZArchive(path: corrupt, options: NPYReadOptions(verifyCRC: false))
        #expect(try unchecked.array(named: "x").checksum == .notChecked)
    }

    @Test func writerRefusesMisuse() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let writer = try NPZWriter(path: directory.path("w.npz"))
        try writer.add("a", try NPYArray([Float(1)]))
        #expect(formatError { try writer.add("a", try NPYArray([Float(1)])) }?.message.contains("unique") == true)
        try writer.finish()
        #expect(formatError { try writer.finish() } != nil)
        let empty = try NPZWriter(path: directory.path("e.npz"))
        #expect(formatError { try empty.finish() }?.message.contains("at least one array") == true)
    }

    @Test func writesToACallerDescriptorWithUnsafeBuffers() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = directory.path("fd.npz")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        let values = (0..<1000).map(Double.init)
        let writer = NPZWriter(fileDescriptor: fd, name: path, options: NPZWriteOptions(compression: .deflated))
        try values.withUnsafeBufferPointer { try writer.add("v", elements: $0, shape: [10, 100]) }
        try values.withUnsafeBufferPointer { try writer.add("s", elements: $0, shape: [1000], compression: .stored) }
        try writer.finish()
        close(fd)
        let archive = try NPZArchive(path: path)
        #expect(try archive.array(named: "v").elements(as: Double.self) == values)
        #expect(archive.member(named: "s")?.storage == .stored)
        #expect(archive.member(named: "v")!.compressedSize < archive.member(named: "v")!.uncompressedSize)
    }
}
