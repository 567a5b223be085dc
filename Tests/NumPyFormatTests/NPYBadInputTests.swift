import NumPyFormat
import Testing

/// Every malformed .npy case from the brief: each is refused with a one-line message
/// naming the file and the byte offset and saying what was expected.
@Suite struct NPYBadInputTests {
    let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"

    func failure(
        _ bytes: [UInt8], options: NPYReadOptions = NPYReadOptions(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> NumPyFormatError? {
        formatError(
            { _ = try NPYFile.read(bytes: bytes, name: "bad.npy", options: options) }, sourceLocation: sourceLocation)
    }

    func expectFailure(
        _ bytes: [UInt8], offset: Int, _ phrases: String..., options: NPYReadOptions = NPYReadOptions(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = failure(bytes, options: options, sourceLocation: sourceLocation) else { return }
        #expect(error.file == "bad.npy", sourceLocation: sourceLocation)
        #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("bad.npy: offset \(offset): "), "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        for phrase in phrases {
            #expect(error.message.contains(phrase), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func badMagic() {
        expectFailure(Array("PK\u{3}\u{4}hello world".utf8), offset: 0, "expected magic", "found PK")
        expectFailure([0x93] + Array("numpy".utf8) + [1, 0, 0, 0], offset: 0, "expected magic", "\\x93numpy")
    }

    @Test func cutInsideMagicOrVersion() {
        let full = npyBytes(header: good)
        expectFailure([], offset: 0, "ends after 0 bytes")
        for length in 1..<8 {
            expectFailure(Array(full[0..<length]), offset: length, "ends after \(length) bytes")
        }
    }

    @Test func unsupportedVersions() {
        for version in [(0, 0), (1, 1), (4, 0), (2, 1)] as [(UInt8, UInt8)] {
            expectFailure(
                npyBytes(header: good, data: [UInt8](repeating: 0, count: 8), version: version),
                offset: 6, "expected NPY version 1.0, 2.0 or 3.0", "found \(version.0).\(version.1)")
        }
    }

    @Test func headerLengthMissingOrTooLarge() {
        let prefix: [UInt8] = [0x93] + Array("NUMPY".utf8)
        expectFailure(prefix + [2, 0], offset: 8, "4-byte header length", "ends after 8 bytes")
        expectFailure(prefix + [2, 0, 0x10], offset: 8, "4-byte header length")
        expectFailure(
            prefix + [1, 0, 0xff, 0x00] + Array("{'descr'".utf8), offset: 8,
            "expected 255 bytes of header text", "only 8 remain", "cut inside the header")
    }

    @Test func headerNotADictOrWrongKeys() {
        expectFailure(npyBytes(header: "['descr', 1]"), offset: 10, "expected the header to be a dict, found a list")
        expectFailure(npyBytes(header: "{'descr': '<f4', 'shape': (2,)}"), offset: 10, "'fortran_order'", "missing")
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}"),
            offset: 10 + 56, "unexpected header key 'extra'")
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"),
            offset: 10 + 17, "appears twice")
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x"),
            offset: 10 + 56, "cannot parse header", "after the header dict")
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': False"), offset: 10 + 39, "cannot parse header",
            "ends inside the dict")
    }

    @Test func badShapes() {
        func header(_ shape: String) -> [UInt8] {
            npyBytes(
                header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape)}",
                data: [UInt8](repeating: 0, count: 64))
        }
        let at = 10 + 50
        expectFailure(header("[2, 3]"), offset: at, "expected shape to be a tuple", "found a list")
        expectFailure(header("(2, -3)"), offset: at + 4, "expected a non-negative dimension, found -3")
        expectFailure(header("(2.0,)"), offset: at + 1, "expected shape to hold integers, found a float")
        expectFailure(header("(99999999999999999999,)"), offset: at + 1, "larger than 2^63-1", "largest dimension")
        expectFailure(header("(9223372036854775808,)"), offset: at + 1, "9223372036854775808 is larger than 2^63-1")
        expectFailure(header("(5)"), offset: at + 1, "expected shape to be a tuple", "found an integer")
        expectFailure(header("(" + String(repeating: "1, ", count: 65) + ")"), offset: at, "at most 64 dimensions")
    }

    @Test func fortranOrderNotBool() {
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"),
            offset: 10 + 34, "expected fortran_order to be True or False, found an integer")
    }

    @Test(arguments: [
        ("|O", "object"), ("<q9", "unknown dtype descr '<q9'"), ("<f1", "unknown dtype descr '<f1'"),
        ("", "empty dtype descr"), ("|U3", "no byte order"), ("<m8", "datetime"),
    ])
    func unsupportedDescr(descr: String, phrase: String) {
        expectFailure(
            npyBytes(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,)}"),
            offset: 10 + 10, phrase)
    }

    @Test func structuredDescr() {
        expectFailure(
            npyBytes(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}"),
            offset: 10 + 10, "structured dtypes")
    }

    @Test func headerOverTheLimit() throws {
        let long = good + String(repeating: " ", count: 10_100) + "\n"
        let bytes = npyBytes(header: long, data: [UInt8](repeating: 0, count: 8))
        expectFailure(bytes, offset: 8, "at most 10000 bytes", "found \(long.utf8.count)", "maxHeaderSize")
        let relaxed = try NPYFile.read(bytes: bytes, options: NPYReadOptions(maxHeaderSize: 20_000))
        #expect(relaxed.shape == [2])
        expectFailure(
            npyBytes(header: good, data: [UInt8](repeating: 0, count: 8)), offset: 8,
            "at most 20 bytes", options: NPYReadOptions(maxHeaderSize: 20))
    }

    @Test func encodingRules() throws {
        let latin = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'é': 1}"
        expectFailure(
            npyBytes(header: latin, data: [UInt8](repeating: 0, count: 8)), offset: 10 + 57,
            "expected ASCII header text in a version 1.0 file", "0xc3")
        expectFailure(
            npyBytes(header: latin, data: [UInt8](repeating: 0, count: 8), version: (2, 0)), offset: 12 + 57,
            "version 2.0")
        var invalid = npyBytes(header: good + " ", data: [UInt8](repeating: 0, count: 8), version: (3, 0))
        invalid[12 + good.utf8.count] = 0xff
        expectFailure(invalid, offset: 12 + good.utf8.count, "expected UTF-8 header text", "0xff")
        // Valid UTF-8 in a v3 header is fine (here in a trailing comment-free string key that is then refused as a key,
        // proving the text got past decoding).
        expectFailure(npyBytes(header: latin, data: [], version: (3, 0)), offset: 12 + 56, "unexpected header key 'é'")
    }

    @Test func sizeOverflow() {
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
            offset: 10, "is too big", "exceed 2^63-1 bytes")
        expectFailure(
            npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}"),
            offset: 10, "is too big", "8-byte items")
    }

    /// numpy's "array is too big" rule skips zero dimensions: an empty array whose other
    /// dimensions multiply past 2^63-1 bytes is refused although it holds no data, and one
    /// whose nonzero dimensions fit is read as the empty array it is.
    @Test(arguments: [
        "(0, 4611686018427387904, 4)", "(0, 9223372036854775807)",
        "(0, 3, 4611686018427387904, 4611686018427387904)", "(4611686018427387904, 0, 4)",
    ])
    func emptyArrayWithHugeDimensionsIsRefused(shape: String) {
        expectFailure(
            npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape)}"),
            offset: 10, "is too big", "nonzero dimensions", "numpy")
    }

    @Test func emptyArrayWithLargeButValidDimensionsIsRead() throws {
        let bytes = npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1099511627776)}")
        let array = try NPYFile.read(bytes: bytes)
        #expect(array.shape == [0, 1 << 40])
        #expect(array.count == 0)
    }

    @Test func dataCutShortIsNotAHeaderCut() {
        let text = good + "\n"
        let bytes = npyBytes(header: text, data: [0, 0, 0x80, 0x3f, 0])
        expectFailure(bytes, offset: bytes.count, "expected 8 bytes of array data", "found 5", "data is cut short")
    }

    @Test func booleanBytes() throws {
        let text = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}\n"
        let bytes = npyBytes(header: text, data: [1, 2, 0])
        expectFailure(bytes, offset: 10 + text.utf8.count + 1, "expected bool byte 0 or 1, found 0x02")
        let lenient = try NPYFile.read(bytes: bytes, options: NPYReadOptions(strictBooleans: false))
        #expect(try lenient.elements(as: Bool.self) == [true, true, false])
        #expect(!lenient.isDirectlyUsable(as: Bool.self))
        #expect(try lenient.elements(as: UInt8.self) == [1, 1, 0])
        #expect(lenient.bytes == [1, 2, 0])
    }

    @Test func acceptsAnySpellingNumpyAccepts() throws {
        let spellings = [
            "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
            "{ \"descr\" : \"<f4\" ,'fortran_order':False,'shape':( 2 , ) , }   \n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
            "{'descr':'<f4','fortran_order':False,'shape':(2,),}",
        ]
        for text in spellings {
            let array = try NPYFile.read(bytes: npyBytes(header: text, data: [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]))
            #expect(try array.elements(as: Float.self) == [1, 2], "\(text)")
        }
    }

    @Test func missingFileIsOneLine() {
        let error = formatError { _ = try NPYFile.read(path: "/nonexistent/x.npy") }
        #expect(error?.description == "/nonexistent/x.npy: cannot open: No such file or directory")
    }
}
