import NumPyFormat
import TestSupport
import Testing

/// Fixed-width string arrays (`<U`, `|S`): descrs, reading, building, refusals, and
/// interop with the real numpy both ways.
@Suite struct NPYStringTests {
    @Test(arguments: [
        ("<U4", "<U4", 16), (">U4", ">U4", 16), ("<U0", "<U0", 0), ("=U2", "<U2", 8), ("|S4", "|S4", 4),
        ("S4", "|S4", 4), ("<S3", "|S3", 3), ("|S0", "|S0", 0), ("a5", "|S5", 5),
    ])
    func parsesStringDescrs(descr: String, written: String, itemSize: Int) throws {
        let dtype = try NPYDType(descr: descr)
        #expect(dtype.descr == written)
        #expect(dtype.itemSize == itemSize)
        #expect(dtype.kind.isString)
    }

    @Test func namesAndLengths() throws {
        #expect(try NPYDType(descr: "<U4").typeName == "str128")
        #expect(try NPYDType(descr: "|S4").typeName == "bytes32")
        #expect(try NPYDType(descr: ">U3").stringLength == 3)
        #expect(try NPYDType.unicode(characters: 5).descr == "<U5")
        #expect(try NPYDType(descr: "<f4").stringLength == nil)
    }

    @Test(arguments: [
        ("|U4", "byte order"), ("U4", "byte order"), ("<U", "length"), ("<Ux", "length"), ("|S-1", "length"),
        ("<U99999999999", "length"), ("<U1073741824", "wider"), ("|S2147483648", "wider"),
    ])
    func refusesBadStringDescrs(descr: String, phrase: String) {
        do {
            _ = try NPYDType(descr: descr)
            Issue.record("accepted \(descr)")
        } catch {
            #expect(error.message.contains(phrase), "\(error.message)")
        }
    }

    @Test func buildsWhatNumpyBuilds() throws {
        let array = try NPYArray(strings: ["x", "dout"], shape: [2])
        #expect(array.dtype.descr == "<U4")
        var expected = [UInt8](repeating: 0, count: 32)
        expected[0] = UInt8(ascii: "x")
        for (i, c) in "dout".utf8.enumerated() { expected[16 + 4 * i] = c }
        #expect(array.bytes == expected)
        #expect(try array.strings() == ["x", "dout"])
        #expect(try NPYArray(strings: [""], shape: []).dtype.descr == "<U1")
        #expect(try NPYArray(strings: [], shape: [0]).dtype.descr == "<U1")
        #expect(try NPYArray(strings: ["é𝄞"], shape: []).dtype.descr == "<U2")
    }

    @Test func readsFortranOrderInCOrder() throws {
        let header = "{'descr': '<U1', 'fortran_order': True, 'shape': (2, 3), }"
        // Column-major storage of [[a, b, c], [d, e, f]]: a d b e c f.
        let data: [UInt8] = "adbecf".unicodeScalars.flatMap { scalar -> [UInt8] in [UInt8(scalar.value), 0, 0, 0] }
        let array = try NPYFile.read(bytes: npyBytes(header: header, data: data))
        #expect(try array.strings() == ["a", "b", "c", "d", "e", "f"])
    }

    @Test func bigEndianAndEmptyItems() throws {
        let big = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '>U2', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0x41, 0, 0, 0, 0]))
        #expect(try big.strings() == ["A"])
        let empty = try NPYFile.read(
            bytes: npyBytes(header: "{'descr': '<U0', 'fortran_order': False, 'shape': (3,), }"))
        #expect(try empty.strings() == ["", "", ""])
        let huge = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '<U0', 'fortran_order': False, 'shape': (1000000000000,), }"))
        let error = formatError { _ = try huge.strings() }
        #expect(error?.message.contains("refusing") == true, "\(String(describing: error))")
    }

    @Test func keepsInnerNulsAndStripsTrailingOnes() throws {
        let data: [UInt8] = [0x61, 0, 0, 0, 0, 0, 0, 0, 0x62, 0, 0, 0, 0, 0, 0, 0]
        let array = try NPYFile.read(
            bytes: npyBytes(
                header: "{'descr': '<U4', 'fortran_order': False, 'shape': (), }", data: data))
        #expect(try array.strings() == ["a\u{0}b"])
    }

    @Test(arguments: [UInt32(0xD800), 0x110000, 0xFFFF_FFFF])
    func refusesInvalidCodePoints(value: UInt32) throws {
        var data = [UInt8](repeating: 0, count: 16)
        data[0] = 0x41
        data.setU32(value, at: 8)
        let bytes = npyBytes(header: "{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", data: data)
        let array = try NPYFile.read(bytes: bytes, name: "t.npy")
        let error = formatError { _ = try array.strings() }
        #expect(error?.file == "t.npy")
        #expect(error?.offset == bytes.count - 8, "\(String(describing: error))")
        #expect(error?.message.contains("item 1") == true, "\(String(describing: error))")
        #expect(error?.description.split(separator: "\n").count == 1)
    }

    @Test func bytesStrings() throws {
        let array = try NPYArray(byteStrings: [Array("ab".utf8), Array("abcd".utf8)], shape: [2])
        #expect(array.dtype.descr == "|S4")
        #expect(array.bytes == Array("ab\0\0abcd".utf8))
        #expect(try array.strings() == ["ab", "abcd"])
        #expect(try array.byteStrings() == [Array("ab".utf8), Array("abcd".utf8)])
        let bad = try NPYArray(byteStrings: [[0x41, 0xff]], shape: [1])
        #expect(formatError { _ = try bad.strings() }?.message.contains("UTF-8") == true)
        #expect(try bad.byteStrings() == [[0x41, 0xff]])
    }

    @Test func numericReadersRefuseStrings() throws {
        let array = try NPYArray(strings: ["1"], shape: [])
        let error = formatError { _ = try array.elements(as: Float.self) }
        #expect(error?.message.contains("holds strings") == true, "\(String(describing: error))")
        #expect(formatError { _ = try array.elements(as: UInt32.self) } != nil)
        #expect(formatError { _ = try array.elements(as: NPYComplex64.self) } != nil)
        let numbers = try NPYArray([Float(1)])
        #expect(formatError { _ = try numbers.strings() }?.message.contains("expected a string array") == true)
    }

    @Test func refusesShapesThatDoNotHoldTheStrings() {
        #expect(formatError { _ = try NPYArray(strings: ["a", "b"], shape: [3]) } != nil)
        #expect(formatError { _ = try NPYArray(strings: ["a"], shape: [-1]) } != nil)
    }

    @Test func numpyReadsWhatWeWriteByteForByte() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let cases: [(String, [String], [Int])] = [
            ("layout", ["nhwc"], []), ("keys", ["x", "dout"], [2]), ("empty", [], [0]), ("blank", [""], []),
            ("wide", ["é", "𝄞x", "", "abc", "a\u{0}b", "z"], [2, 3]),
        ]
        let writer = try NPZWriter(path: directory.path("ours.npz"))
        for (name, strings, shape) in cases {
            let array = try NPYArray(strings: strings, shape: shape)
            try NPYFile.write(array, to: directory.path("\(name).npy"))
            try writer.add(name, array)
        }
        try writer.finish()
        try python(
            """
            cases = {'layout': np.array('nhwc'), 'keys': np.array(['x', 'dout']), 'empty': np.array([], dtype=str),
                     'blank': np.array(''), 'wide': np.array([['é', '𝄞x', ''], ['abc', 'a\\x00b', 'z']])}
            z = np.load('ours.npz')
            for name, a in cases.items():
                np.save(f'ref_{name}.npy', a)
                ours = np.load(f'{name}.npy')
                assert ours.dtype == a.dtype and ours.shape == a.shape and (ours == a).all(), (name, ours, a)
                assert z[name].dtype == a.dtype and (z[name] == a).all(), name
            """, in: directory)
        for (name, _, _) in cases {
            #expect(try directory.read("\(name).npy") == directory.read("ref_\(name).npy"), "\(name)")
        }
    }

    @Test func readsWhatNumpyWrites() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            np.savez('s.npz', layout='nhwc', keys=np.array(['x', 'dout']), names=np.array([b'ab', b'abcd']),
                     big=np.array(['é𝄞', 'q'], dtype='>U2'),
                     grid=np.asfortranarray(np.array([['a', 'bb', 'c'], ['dd', 'e', 'ffé']])))
            np.savez_compressed('c.npz', keys=np.array(['out', 'dx']))
            """, in: directory)
        let archive = try NPZArchive(path: directory.path("s.npz"))
        #expect(try archive.array(named: "layout").strings() == ["nhwc"])
        #expect(try archive.array(named: "layout").shape == [])
        #expect(try archive.array(named: "keys").strings() == ["x", "dout"])
        #expect(try archive.array(named: "names").byteStrings() == [Array("ab".utf8), Array("abcd".utf8)])
        #expect(try archive.array(named: "big").strings() == ["é𝄞", "q"])
        #expect(try archive.array(named: "grid").strings() == ["a", "bb", "c", "dd", "e", "ffé"])
        #expect(try NPZArchive(path: directory.path("c.npz")).array(named: "keys").strings() == ["out", "dx"])
    }
}
