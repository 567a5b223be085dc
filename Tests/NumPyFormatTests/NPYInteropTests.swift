import NumPyFormat
import TestSupport
import Testing

/// Interop with the real numpy installed here, both directions, and byte identity of
/// written headers with `np.save`.
@Suite struct NPYInteropTests {
    @Test func writesHeadersByteIdenticalToNpSave() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        // Each file: np.save of an array; the library re-encodes what it reads and must
        // produce the same bytes. Covers growth padding for 1- to 20-digit axes, Fortran
        // growth on the last axis, 0-d, empty, rank 32 and every dtype and byte order.
        let listing = try python(
            """
            cases = []
            dts = ['?','i1','u1','<i2','>i2','<i4','>i4','<i8','>i8','<u2','>u2','<u4','>u4','<u8','>u8',
                   '<f2','>f2','<f4','>f4','<f8','>f8','<c8','>c8','<c16','>c16']
            for i, dt in enumerate(dts):
                cases.append(np.arange(6).astype(dt).reshape(2, 3))
                cases.append(np.asfortranarray(np.arange(12).astype(dt).reshape(3, 4)))
            cases += [np.float32(3.5).reshape(()), np.zeros((0,), 'f8'), np.zeros((5, 0), 'i2'),
                      np.zeros((1,)*32, 'f4'), np.zeros((2,)+(1,)*30+(2,), 'u1'),
                      np.zeros((10**12, 0), 'f4'), np.asfortranarray(np.zeros((3, 0, 10**15), 'f4')),
                      np.zeros((12345678901234567890 // 10**19, 7), 'f8'), np.zeros((99999,), 'u1')]
            for i in range(60):
                cases.append(np.zeros((i,), 'f4'))
            for i, a in enumerate(cases):
                np.save(f'case{i}.npy', a)
            print(len(cases))
            """, in: directory)
        let count = Int(listing.trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(count > 100)
        for i in 0..<count {
            let original = try directory.read("case\(i).npy")
            let array = try NPYFile.read(path: directory.path("case\(i).npy"))
            #expect(NPYFile.encode(array) == original, "case \(i): \(array.header)")
        }
    }

    @Test func readsWhatNumpyWrites() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            import numpy.lib.format as fmt
            a = np.arange(12, dtype='<f8').reshape(3, 4) - 5.5
            np.save('c.npy', a)
            np.save('f.npy', np.asfortranarray(a))
            np.save('be.npy', a.astype('>f4'))
            np.save('bef.npy', np.asfortranarray(a.astype('>i8')))
            np.save('bool.npy', np.array([True, False, True]))
            np.save('c16.npy', np.array([1+2j, -3.5j]))
            np.save('half.npy', np.array([0.5, -2], dtype='<f2'))
            for v in [(2, 0), (3, 0)]:
                with open(f'v{v[0]}.npy', 'wb') as f:
                    fmt.write_array(f, a.astype('<i4'), version=v)
            """, in: directory)
        var expected: [Double] = []
        for i in 0..<12 { expected.append(Double(i) - 5.5) }
        #expect(try NPYFile.read(path: directory.path("c.npy")).elements(as: Double.self) == expected)
        #expect(try NPYFile.read(path: directory.path("f.npy")).elements(as: Double.self) == expected)
        #expect(try NPYFile.read(path: directory.path("be.npy")).elements(as: Float.self) == expected.map(Float.init))
        let bef = try NPYFile.read(path: directory.path("bef.npy"))
        #expect(bef.dtype.descr == ">i8" && bef.fortranOrder)
        #expect(try bef.elements(as: Int64.self) == expected.map { Int64($0.rounded(.towardZero)) })
        #expect(try NPYFile.read(path: directory.path("bool.npy")).elements(as: Bool.self) == [true, false, true])
        #expect(
            try NPYFile.read(path: directory.path("c16.npy")).elements(as: NPYComplex128.self)
                == [NPYComplex128(1, 2), NPYComplex128(0, -3.5)])
        #expect(try NPYFile.read(path: directory.path("half.npy")).elements(as: Float.self) == [0.5, -2])
        for (name, version) in [("v2.npy", NPYVersion.v2), ("v3.npy", .v3)] {
            let array = try NPYFile.read(path: directory.path(name))
            #expect(array.header.version == version)
            #expect(try array.elements(as: Int32.self) == expected.map { Int32($0.rounded(.towardZero)) })
        }
    }

    @Test func numpyReadsWhatTheLibraryWrites() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        var names: [String] = []
        for descr in allDescrs {
            let base = try NPYDType(descr: descr)
            for order in [NPYDType.ByteOrder.little, .big] {
                for fortran in [false, true] {
                    let header = NPYArrayHeader(
                        dtype: base.withByteOrder(order), shape: [2, 3, 4], fortranOrder: fortran)
                    let name = "w\(names.count).npy"
                    try NPYFile.write(
                        try NPYArray(header: header, bytes: patternBytes(count: header.byteCount!, dtype: base)),
                        to: directory.path(name))
                    names.append("('\(name)', '\(header.dtype.descr)', \(fortran ? "True" : "False"))")
                }
            }
        }
        // numpy must load each file and see the same dtype, shape, order and bytes.
        let result = try python(
            """
            def pattern(n, kind):
                return bytes((1 if i % 3 == 0 else 0) if kind == 'b' else (i * 37 + 11) % 251 for i in range(n))
            for name, descr, fortran in [\(names.joined(separator: ", "))]:
                a = np.load(name)
                assert a.dtype.str == descr, (name, a.dtype.str, descr)
                assert a.shape == (2, 3, 4), name
                assert a.flags.f_contiguous == fortran and (fortran or a.flags.c_contiguous), name
                raw = a.tobytes(order='F' if fortran else 'C')
                assert raw == pattern(len(raw), np.dtype(descr).kind), name
                with open(name, 'rb') as f:
                    data = f.read()
                buf = __import__('io').BytesIO(); np.save(buf, a)
                assert buf.getvalue() == data, name + ' differs from np.save'
            print('ok')
            """, in: directory)
        #expect(result.contains("ok"))
    }
}
