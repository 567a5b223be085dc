import Glibc
import NumPyFormat
import TestSupport
import Testing

/// `NPZWriteOptions.writesBehind` hands data to the device while the archive is being
/// written. It is a hint to the kernel, so what can fail is the archive: it must hold
/// the same bytes as one written without the hint, through every writing path (whole
/// members, members streamed in pieces, deflated members), and a file that refuses the
/// hint must still be written.
@Suite struct NPZWriteBehindTests {
    /// 3 MiB per array: several times the smallest write that is handed on.
    let values = (0..<(3 << 18)).map { Float($0 % 1009) * 0.25 - 100 }
    var header: NPYArrayHeader { NPYArrayHeader(dtype: Float.npyDType, shape: [values.count]) }

    func write(_ writer: NPZWriter) throws {
        try values.withUnsafeBufferPointer { try writer.add("whole", elements: $0, shape: [values.count]) }
        try values.withUnsafeBufferPointer {
            try writer.add("packed", elements: $0, shape: [values.count], compression: .deflated)
        }
        try writer.addStored([("a", header), ("b", header)]) { pieces in
            let piece = 1 << 18  // 1 MiB of float32, as the engine streams
            for start in stride(from: 0, to: values.count, by: piece) {
                let slice = values[start..<min(values.count, start + piece)]
                try slice.withUnsafeBytes { try pieces.write($0, to: "a") }
                try slice.withUnsafeBytes { try pieces.write($0, to: "b") }
            }
        }
        try writer.finish()
    }

    @Test func theArchiveIsTheSameWithAndWithoutTheHint() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        try write(try NPZWriter(path: directory.path("plain.npz")))
        try write(try NPZWriter(path: directory.path("behind.npz"), options: NPZWriteOptions(writesBehind: true)))
        let fd = open(directory.path("descriptor.npz"), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        try write(NPZWriter(fileDescriptor: fd, name: "descriptor.npz", options: NPZWriteOptions(writesBehind: true)))
        close(fd)
        let plain = try directory.read("plain.npz")
        #expect(plain.count > 3 * (3 << 20))  // three stored arrays and a deflated one
        #expect(try directory.read("behind.npz") == plain)
        #expect(try directory.read("descriptor.npz") == plain)
        try python(
            """
            d = np.load('behind.npz')
            v = (np.arange(3 << 18) % 1009).astype('f4') * 0.25 - 100
            for k in ('whole', 'packed', 'a', 'b'):
                assert np.array_equal(d[k], v), k
            """, in: directory)
    }

    /// /dev/null takes writes at any offset but no writeback: the hint fails there,
    /// and the archive must be written regardless.
    @Test func aFileThatRefusesTheHintIsStillWritten() throws {
        let fd = open("/dev/null", O_WRONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        try write(NPZWriter(fileDescriptor: fd, name: "/dev/null", options: NPZWriteOptions(writesBehind: true)))
    }
}
