import Foundation
import TestSupport
import Testing

/// Names from a file never reach the terminal raw: a newline in a member name cannot
/// split an error line, and an ESC sequence is shown, not obeyed.
@Suite struct ReliabilityMessageTests {
    /// An archive with a good member and a corrupt one, both with control characters in
    /// their names.
    static func hostileNames(_ scratch: ScratchFolder) throws -> String {
        try scratch.python(
            """
            import zipfile, io
            b = io.BytesIO(); np.save(b, np.arange(4, dtype='<f4'))
            with zipfile.ZipFile('names.npz', 'w') as z:
                z.writestr('x.npy', b.getvalue())
                z.writestr('g\\x1b[31mood\\t.npy', b.getvalue())
                z.writestr('bad\\nline\\x1b]0;title\\x07.npy', b'not an npy file')
            """)
        return scratch.path("names.npz")
    }

    @Test func errorsEscapeControlCharacters() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try Self.hostileNames(scratch)
        let outcome = try BNFileBinary.run(["inspect", input])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.filter { $0 == "\n" }.count == 1, "\(outcome.stderr.debugDescription)")
        #expect(!outcome.stderr.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 })
        #expect(outcome.stderr.contains(#"member 'bad\nline\x1b]0;title\x07.npy'"#), "\(outcome.stderr)")
    }

    @Test func inspectTableEscapesControlCharacters() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        _ = try Self.hostileNames(scratch)
        try scratch.python(
            """
            import zipfile
            src = zipfile.ZipFile('names.npz')
            with zipfile.ZipFile('good.npz', 'w') as z:
                for n in src.namelist():
                    if not n.startswith('bad'): z.writestr(n, src.read(n))
            """)
        let outcome = try BNFileBinary.run(
            ["inspect", scratch.path("good.npz")],
            shell: "exec 1>\(scratch.path("table.txt")); exec")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let table = String(decoding: scratch.bytes("table.txt") ?? Data(), as: UTF8.self)
        #expect(table.contains(#"g\x1b[31mood\t"#), "\(table)")
        #expect(!table.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x09 })
        #expect(table.split(separator: "\n").count == 3, "\(table)")
    }

    /// `diff`'s table and summary line show key names escaped too.
    @Test func diffEscapesKeyNames() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            """
            import zipfile, io
            for name, value in [('a.npz', 1.0), ('b.npz', 2.0)]:
                b = io.BytesIO(); np.save(b, np.full(4, value, '<f4'))
                with zipfile.ZipFile(name, 'w') as z: z.writestr('k\\x1b[2J\\n.npy', b.getvalue())
            """)
        for flags in [[], ["--quiet"]] {
            let outcome = try BNFileBinary.run(
                ["diff"] + flags + [scratch.path("a.npz"), scratch.path("b.npz")],
                shell: "exec 1>\(scratch.path("diff.txt")); exec")
            #expect(outcome.status == 1, "\(outcome.stderr)")
            let text = String(decoding: scratch.bytes("diff.txt") ?? Data(), as: UTF8.self)
            #expect(text.contains(#"k\x1b[2J\n"#), "\(text)")
            #expect(!text.unicodeScalars.contains { $0.value == 0x1b }, "\(text.debugDescription)")
        }
    }
}
