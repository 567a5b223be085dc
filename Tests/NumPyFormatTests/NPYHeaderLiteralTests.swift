import NumPyFormat
import Testing

/// Header literals read as numpy reads them (Python's `ast.literal_eval`): string
/// escapes give the characters Python gives, and integers Python refuses are refused.
@Suite struct NPYHeaderLiteralTests {
    func header(descr: String = "<f4", shape: String) -> [UInt8] {
        npyBytes(
            header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape)}",
            data: [UInt8](repeating: 0, count: 64))
    }

    /// `'\x3cf4'` is `'<f4'` to numpy; octal and \u escapes likewise.
    @Test(arguments: [#"\x3cf4"#, #"\074f4"#, #"\u003cf4"#, #"\U0000003cf4"#])
    func escapedDescrIsReadAsNumpyReadsIt(descr: String) throws {
        let array = try NPYFile.read(bytes: header(descr: descr, shape: "(4,)"))
        #expect(array.dtype.descr == "<f4")
    }

    /// An unknown escape keeps its backslash, so the message shows what the file says.
    @Test func unknownEscapeKeepsItsBackslash() {
        let error = formatError { _ = try NPYFile.read(bytes: header(descr: #"\q4"#, shape: "(4,)")) }
        #expect(error?.message.contains(#"'\q4'"#) == true, "\(String(describing: error))")
    }

    /// Leading zeros and misplaced underscores are Python syntax errors; numpy refuses
    /// them, so they are not read as 4.
    @Test(arguments: ["(04,)", "(0_4,)", "(4_,)", "(1__0,)", "(2, 007)"])
    func integersPythonRefusesAreRefused(shape: String) {
        let error = formatError { _ = try NPYFile.read(bytes: header(shape: shape)) }
        #expect(error?.message.contains("malformed integer") == true, "\(String(describing: error))")
        #expect(error?.message.contains("numpy refuses it") == true)
    }

    /// What Python accepts still reads: underscores between digits, zeros, signs.
    @Test(arguments: [("(1_0,)", [10]), ("(00,)", [0]), ("(0_0, 2)", [0, 2]), ("(+4,)", [4])])
    func integersPythonAcceptsAreRead(shape: String, expected: [Int]) throws {
        #expect(try NPYFile.read(bytes: header(shape: shape)).shape == expected)
    }
}

/// Control characters in names become escapes in every error's one line.
@Suite struct ControlCharacterTests {
    @Test func controlCharactersAreEscaped() {
        #expect(escapingControlCharacters("a\nb\tc\r\u{1b}[0m\u{7f}\u{85}é\\") == #"a\nb\tc\r\x1b[0m\x7f\x85é\"#)
        #expect(escapingControlCharacters("plain.npy") == "plain.npy")
    }

    @Test func errorDescriptionsStayOneLine() {
        let error = NumPyFormatError(
            .malformed, file: "in\n.npz", member: "x\u{1b}.npy", offset: 3, message: "bad 'y\n'")
        #expect(error.description == #"in\n.npz: member 'x\x1b.npy': offset 3: bad 'y\n'"#)
    }
}
