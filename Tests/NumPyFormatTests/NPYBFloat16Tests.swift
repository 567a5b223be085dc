import NumPyFormat
import TestSupport
import Testing

/// Void (`<V2`) arrays and bfloat16: raw bytes stay raw until declared; declared
/// bfloat16 reads exactly as float32; the writer declares what it writes; and real
/// ml_dtypes files go both ways.
@Suite struct NPYBFloat16Tests {
    /// 1, -2.5, the smallest subnormal, +inf, -0 as bfloat16 encodings, little-endian.
    static let encodings: [UInt16] = [0x3F80, 0xC020, 0x0001, 0x7F80, 0x8000]
    static let values: [Float] = [1, -2.5, 0x1p-133, .infinity, -0.0]
    static var bytes: [UInt8] { encodings.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }

    @Test(arguments: [("<V2", 2), ("|V2", 2), ("V8", 8), (">V3", 3), ("<V0", 0)])
    func parsesVoidDescrs(descr: String, size: Int) throws {
        let dtype = try NPYDType(descr: descr)
        #expect(dtype.kind == .void && dtype.itemSize == size)
        #expect(dtype.descr == (descr.first == "V" ? "|" + descr : descr))
        #expect(dtype.isTwoByteVoid == (size == 2))
    }

    @Test func voidIsRefusedByNumericReadersWithTheWayOut() throws {
        let array = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '<V2', 'fortran_order': False, 'shape': (5,), }", data: Self.bytes), name: "x.npy")
        let error = formatError { _ = try array.elements(as: Float.self) }
        #expect(
            error?.message.contains("raw bytes") == true && error?.message.contains("bfloat16") == true,
            "\(String(describing: error))")
        let typed = try array.declaredBFloat16()
        #expect(typed.dtype == .bfloat16(byteOrder: .little) && typed.dtype.descr == "<V2")
        #expect(typed.dtype.typeName == "bfloat16")
        #expect(try typed.elements(as: Float.self).map(\.bitPattern) == Self.values.map(\.bitPattern))
        #expect(try typed.elements(as: Double.self) == Self.values.map(Double.init))
        #expect(try typed.elements(as: NPYComplex64.self).map(\.real) == Self.values)
        #expect(formatError { _ = try typed.elements(as: Float16.self) } != nil)
        #expect(formatError { _ = try typed.elements(as: UInt16.self) } != nil)
    }

    @Test func bigEndianAndMisdeclaredArrays() throws {
        let big = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '>V2', 'fortran_order': False, 'shape': (1,), }", data: [0x3F, 0x80]))
        #expect(try big.declaredBFloat16().elements(as: Float.self) == [1])
        let floats = try NPYArray([Float(1)])
        let error = formatError { _ = try floats.declaredBFloat16() }
        #expect(error?.message.contains("declared bfloat16, but its dtype is <f4") == true)
        let wide = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '<V4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0x80, 0x3F]))
        #expect(formatError { _ = try wide.declaredBFloat16() } != nil)
        #expect(formatError { _ = try floats.viewed(as: .bfloat16()) } != nil)
    }

    @Test func writerDeclaresAndReaderHonours() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let header = NPYArrayHeader(dtype: .bfloat16(), shape: [5])
        let writer = try NPZWriter(path: directory.path("w.npz"))
        try writer.add("out", try NPYArray(header: header, bytes: Self.bytes))
        try writer.add("gamma", try NPYArray([Float(1), 2]))
        try writer.addStored([("dx", header)]) { pieces in
            try Self.bytes.withUnsafeBytes { try pieces.write($0, to: "dx") }
        }
        try writer.finish()
        let archive = try NPZArchive(path: directory.path("w.npz"))
        #expect(archive.names == ["out", "gamma", "dx", "bfloat16"])
        #expect(archive.dataNames == ["out", "gamma", "dx"])
        #expect(archive.bfloat16Declaration == ["out", "dx"])
        #expect(try archive.array(named: "out").dtype.kind == .bfloat16)
        #expect(
            try archive.array(named: "dx").elements(as: Float.self).map(\.bitPattern) == Self.values.map(\.bitPattern))
        #expect(try archive.array(named: "gamma").dtype == .native(Float.self))
        var off = NPYReadOptions()
        off.readsBFloat16Declaration = false
        let raw = try NPZArchive(path: directory.path("w.npz"), options: off)
        #expect(try raw.array(named: "out").dtype.kind == .void && raw.dataNames.count == 4)
        try python(
            """
            import ml_dtypes
            f = np.load('w.npz')
            assert list(f['bfloat16']) == ['out', 'dx'], f['bfloat16']
            assert f['out'].dtype.str in ('|V2', '<V2'), f['out'].dtype
            out = f['out'].view(ml_dtypes.bfloat16).astype(np.float32)
            expect = np.array([1, -2.5, 2.0**-133, np.inf, -0.0], dtype=np.float32)
            assert (out.view(np.uint32) == expect.view(np.uint32)).all(), out
            assert (f['dx'].view(ml_dtypes.bfloat16).astype(np.float32) == out).all()
            """, in: directory)
    }

    @Test func readsWhatMLDtypesWrites() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let listing = try python(
            """
            import ml_dtypes
            rng = np.random.default_rng(5)
            x = (rng.standard_normal(64) * 10.0 ** rng.integers(-40, 38, 64)).astype(ml_dtypes.bfloat16)
            x[:4] = [0, -0.0, np.inf, 2.0 ** -130]
            np.savez('m.npz', x=x, y=np.arange(3.0))
            np.save('m.npy', x)
            print(' '.join(str(int(b)) for b in x.astype(np.float32).view(np.uint32)))
            """, in: directory)
        let expected = listing.split(separator: " ").map { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(expected.count == 64)
        var options = NPYReadOptions()
        options.bfloat16Arrays = ["x", "y", "absent"]
        let archive = try NPZArchive(path: directory.path("m.npz"), options: options)
        #expect(archive.bfloat16Names == ["x", "y"])
        #expect(try archive.array(named: "x").elements(as: Float.self).map(\.bitPattern) == expected)
        #expect(try archive.array(named: "y").dtype == .native(Double.self))  // typed already: untouched
        #expect(try NPZArchive(path: directory.path("m.npz")).array(named: "x").dtype.kind == .void)
        let single = try NPYFile.read(path: directory.path("m.npy"))
        #expect(try single.declaredBFloat16().elements(as: Float.self).map(\.bitPattern) == expected)
    }

    @Test func declarationsThatDoNotHold() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            v = np.zeros(3, dtype='V2')
            np.savez('absent.npz', x=v, bfloat16=np.array(['x', 'dx']))
            np.savez('flat.npz', x=v, bfloat16=np.array([['x']]))
            np.savez('float.npz', x=np.zeros(3, 'f4'), bfloat16=np.array(['x']))
            np.savez('data.npz', x=v, bfloat16=np.arange(3.0))
            np.savez('bytes.npz', x=v, bfloat16=np.array([b'x']))
            """, in: directory)
        let absent = formatError { _ = try NPZArchive(path: directory.path("absent.npz")) }
        #expect(
            absent?.member == "bfloat16.npy" && absent?.message.contains("lists 'dx'") == true,
            "\(String(describing: absent))")
        #expect(formatError { _ = try NPZArchive(path: directory.path("flat.npz")) }?.message.contains("1-d") == true)
        let float = try NPZArchive(path: directory.path("float.npz"))
        let misdeclared = formatError { _ = try float.array(named: "x") }
        #expect(misdeclared?.member == "x.npy" && misdeclared?.message.contains("declared bfloat16") == true)
        let data = try NPZArchive(path: directory.path("data.npz"))
        #expect(data.bfloat16Declaration == nil && data.dataNames == ["x", "bfloat16"])
        #expect(try NPZArchive(path: directory.path("bytes.npz")).array(named: "x").dtype.kind == .bfloat16)
    }

    /// A declaration of a trillion empty names holds no bytes, so nothing but its count
    /// can refuse it: more names than the archive has arrays is refused before any is made.
    @Test func aHugeEmptyDeclarationIsRefusedBeforeDecoding() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let writer = try NPZWriter(path: directory.path("huge.npz"))
        try writer.add(
            "x", try NPYArray(header: NPYArrayHeader(dtype: try NPYDType(descr: "<V2"), shape: [1]), bytes: [0, 0]))
        try writer.add(
            "bfloat16",
            try NPYArray(
                header: NPYArrayHeader(dtype: try NPYDType(descr: "<U0"), shape: [1_000_000_000_000]), bytes: []))
        try writer.finish()
        let error = formatError { _ = try NPZArchive(path: directory.path("huge.npz")) }
        #expect(error?.message.contains("at most 2 array names") == true, "\(String(describing: error))")
    }
}
