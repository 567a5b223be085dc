import Foundation
import NumPyFormat
import TestSupport
import Testing

/// Archives that numpy (through Python's zipfile) and a reader trusting the end record
/// would read differently: each is refused, so bnfile never computes from other arrays
/// than numpy would load. numpy's own odd but valid archives are read.
@Suite struct NPZAgreementTests {
    static func refusal(_ script: String, _ name: String) throws -> NumPyFormatError? {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(script, in: directory)
        return formatError {
            let archive = try NPZArchive(path: directory.path(name))
            for member in archive.names { _ = try archive.array(named: member) }
        }
    }

    /// An end record counting fewer entries than the directory holds: numpy reads every
    /// entry, so a reader stopping at the count would silently lose `dout`.
    @Test func endRecordCountingTooFewIsRefused() throws {
        let error = try Self.refusal(
            """
            np.savez('a.npz', x=np.zeros((2, 3), '<f4'), dout=np.ones((2, 3), '<f4'))
            d = bytearray(open('a.npz', 'rb').read())
            d[-14:-10] = (1).to_bytes(2, 'little') * 2
            open('a.npz', 'wb').write(d)
            assert sorted(np.load('a.npz').files) == ['dout', 'x']
            """, "a.npz")
        #expect(
            error?.message.contains("hold the 1 entries the end record counts") == true, "\(String(describing: error))")
        #expect(error?.message.contains("numpy would read") == true)
    }

    /// Two archives concatenated: numpy reads the second's arrays (it shifts offsets to
    /// where the directory really is); the end record's offsets point into the first.
    @Test func concatenatedArchivesAreRefused() throws {
        let error = try Self.refusal(
            """
            np.savez('a.npz', x=np.zeros(3, '<f4'))
            np.savez('b.npz', x=np.ones(3, '<f4'))
            open('ab.npz', 'wb').write(open('a.npz', 'rb').read() + open('b.npz', 'rb').read())
            assert np.load('ab.npz')['x'][0] == 1
            """, "ab.npz")
        #expect(error?.message.contains("bytes lie between") == true, "\(String(describing: error))")
        #expect(error?.message.contains("concatenated") == true)
    }

    /// A central directory forged inside a member's data, the end record pointing at it:
    /// numpy reads the bytes before the end record instead and refuses the file.
    @Test func forgedCentralDirectoryIsRefused() throws {
        let error = try Self.refusal(
            """
            import zipfile, io, struct
            def npy(a):
                b = io.BytesIO(); np.save(b, a); return b.getvalue()
            x = npy(np.arange(6, dtype='<f4').reshape(2, 3))
            info = zipfile.ZipInfo('x.npy', date_time=(2020, 1, 1, 0, 0, 0))
            one = io.BytesIO()
            with zipfile.ZipFile(one, 'w') as z: z.writestr(info, x)
            one = one.getvalue()
            size, offset = struct.unpack('<II', one[-10:-2])
            record = one[offset:offset + size]
            two = io.BytesIO()
            with zipfile.ZipFile(two, 'w') as z:
                z.writestr(info, x)
                z.writestr(zipfile.ZipInfo('pad.npy', date_time=(2020, 1, 1, 0, 0, 0)), record)
            two = bytearray(two.getvalue())
            two[-22:] = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 1, 1, len(record), two.find(record), 0)
            open('forged.npz', 'wb').write(two)
            try:
                np.load('forged.npz')['x']
                raise SystemExit('numpy read the forged archive')
            except zipfile.BadZipFile:
                pass
            """, "forged.npz")
        #expect(error?.message.contains("forged inside member data") == true, "\(String(describing: error))")
    }

    /// Python's zipfile writes exactly 65535 members without ZIP64 (count 0xFFFF in the
    /// end record and no ZIP64 records): read when maxMembers allows, refused by the
    /// member bound otherwise, never as a missing ZIP64 locator.
    @Test func numpysArchiveOf65535MembersIsRead() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try python(
            """
            import zipfile, io
            b = io.BytesIO(); np.save(b, np.zeros(2, '<f4'))
            with zipfile.ZipFile('many.npz', 'w') as z:
                for i in range(65535): z.writestr('a%d.npy' % i, b.getvalue())
            assert open('many.npz', 'rb').read()[-12:-10] == b'\\xff\\xff'
            assert len(np.load('many.npz').files) == 65535
            """, in: directory)
        let archive = try NPZArchive(path: directory.path("many.npz"), options: NPYReadOptions(maxMembers: 65535))
        #expect(archive.names.count == 65535)
        #expect(try archive.array(named: "a65534").shape == [2])
        let refused = formatError { _ = try NPZArchive(path: directory.path("many.npz")) }
        #expect(refused?.limit == .maxMembers)
    }
}
