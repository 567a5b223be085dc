import NumPyFormat
import TestSupport
import Testing

/// Malformed archives from the brief. Each is built by writing a valid archive with the
/// library and patching bytes at known record offsets; each error must name the file,
/// the member where there is one, and the offset.
@Suite struct NPZBadInputTests {
    struct Fixture {
        let directory: ScratchFolder
        let bytes: [UInt8]
        /// Offsets of local headers and central directory records, in member order.
        let locals: [Int]
        let centrals: [Int]

        init(compressed: Bool, arrays: [(String, NPYArray)]? = nil) throws {
            directory = try ScratchFolder()
            let path = directory.path("good.npz")
            let writer = try NPZWriter(
                path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
            let contents =
                try arrays ?? [("x", NPYArray([Float](repeating: 1.5, count: 16))), ("y", NPYArray([Int32(1), 2, 3]))]
            for (name, array) in contents { try writer.add(name, array) }
            try writer.finish()
            bytes = try directory.read("good.npz")
            locals = bytes.offsets(ofSignature: 0x0403_4b50)
            centrals = bytes.offsets(ofSignature: 0x0201_4b50)
        }

        func open(_ bytes: [UInt8], options: NPYReadOptions = NPYReadOptions()) throws -> NPZArchive {
            try NPZArchive(path: directory.write(bytes, to: "bad.npz"), options: options)
        }

        /// The error from opening `bytes` and loading every member.
        func failure(
            _ bytes: [UInt8], options: NPYReadOptions = NPYReadOptions(),
            sourceLocation: SourceLocation = #_sourceLocation
        ) -> NumPyFormatError? {
            formatError(
                {
                    let archive = try open(bytes, options: options)
                    for name in archive.names { _ = try archive.array(named: name) }
                }, sourceLocation: sourceLocation)
        }
    }

    func check(
        _ error: NumPyFormatError?, member: String?, offset: Int?, _ phrases: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error else { return }
        #expect(error.file.hasSuffix("bad.npz"), sourceLocation: sourceLocation)
        #expect(error.member == member, "\(error)", sourceLocation: sourceLocation)
        if let offset { #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation) }
        #expect(error.offset != nil, "\(error)", sourceLocation: sourceLocation)
        if let member { #expect(error.description.contains("member '\(member)'"), sourceLocation: sourceLocation) }
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        for phrase in phrases {
            #expect(error.message.contains(phrase), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func notAZip() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        check(f.failure(Array(repeating: 7, count: 100)), member: nil, offset: 0, "expected a zip archive")
        check(f.failure(Array(repeating: 7, count: 5)), member: nil, offset: 0, "expected a zip archive")
        check(
            f.failure(npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0,)}")),
            member: nil, offset: 0, "this is an .npy file")
    }

    @Test func emptyArchive() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        let empty: [UInt8] = [0x50, 0x4b, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
        check(f.failure(empty), member: nil, offset: 0, "empty archive")
    }

    @Test func truncated() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        for cut in [10, f.locals[1] + 5, f.centrals[0] + 10, f.bytes.count - 1] {
            check(f.failure(Array(f.bytes[0..<cut])), member: nil, offset: nil, "truncated")
        }
    }

    @Test(arguments: [false, true])
    func crcMismatch(compressed: Bool) throws {
        let f = try Fixture(compressed: compressed)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU32(bytes.u32(at: f.centrals[1] + 16) ^ 1, at: f.centrals[1] + 16)
        bytes.setU32(bytes.u32(at: f.locals[1] + 14) ^ 1, at: f.locals[1] + 14)
        let archive = try f.open(bytes)
        let dataOffset = archive.member(named: "y")!.dataOffset
        check(f.failure(bytes), member: "y.npy", offset: dataOffset, "CRC-32", "corrupt")
    }

    @Test func compressedSizeLiesPastTheCentralDirectory() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        for record in [f.centrals[1] + 20, f.centrals[1] + 24, f.locals[1] + 18, f.locals[1] + 22] {
            bytes.setU32(100_000, at: record)
        }
        check(
            f.failure(bytes), member: "y.npy", offset: nil, "expected 100000 bytes of member data",
            "truncated or size wrong")
    }

    @Test func storedSizesDisagree() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU32(bytes.u32(at: f.centrals[0] + 24) + 1, at: f.centrals[0] + 24)
        check(
            f.failure(bytes), member: "x.npy", offset: f.centrals[0] + 20,
            "compressed and uncompressed sizes to be equal")
    }

    /// A deflated member that declares fewer bytes than it inflates to is stopped at the
    /// declared size (a zip bomb in miniature).
    @Test func inflatesPastDeclaredSize() throws {
        let zeros = try NPYArray([Float](repeating: 0, count: 1 << 20))
        let f = try Fixture(compressed: true, arrays: [("bomb", zeros)])
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU32(1000, at: f.centrals[0] + 24)
        bytes.setU32(1000, at: f.locals[0] + 22)
        check(f.failure(bytes), member: "bomb.npy", offset: nil, "inflates to more", "declared 1000 bytes")
    }

    @Test func inflatesToLessThanDeclared() throws {
        let f = try Fixture(compressed: true)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        let size = bytes.u32(at: f.centrals[0] + 24) + 10
        bytes.setU32(size, at: f.centrals[0] + 24)
        bytes.setU32(size, at: f.locals[0] + 22)
        check(f.failure(bytes), member: "x.npy", offset: nil, "expected \(size) bytes of inflated data", "ends after")
    }

    @Test func declaredSizeOverTheLimit() throws {
        let f = try Fixture(compressed: true)
        defer { f.directory.cleanup() }
        let error = f.failure(f.bytes, options: NPYReadOptions(maxBytes: 100))
        check(error, member: "x.npy", offset: nil, "at most 100 bytes", "(maxBytes)")
        #expect(error?.limit == .maxBytes)
        #expect(error?.description.hasSuffix("; raise NPYReadOptions.maxBytes if you trust this file") == true)
    }

    @Test func unsupportedMethod() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU16(12, at: f.centrals[0] + 10)
        bytes.setU16(12, at: f.locals[0] + 8)
        check(
            f.failure(bytes), member: "x.npy", offset: f.centrals[0] + 10, "compression method 0 (stored) or 8",
            "found 12")
    }

    @Test func encrypted() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU16(1, at: f.centrals[1] + 8)
        check(f.failure(bytes), member: "y.npy", offset: f.centrals[1] + 8, "encryption flag")
        var local = f.bytes
        local.setU16(1, at: f.locals[1] + 6)
        check(f.failure(local), member: "y.npy", offset: f.locals[1] + 6, "encryption flag")
    }

    @Test func duplicateNames() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes[f.centrals[1] + 46] = UInt8(ascii: "x")
        bytes[f.locals[1] + 30] = UInt8(ascii: "x")
        check(f.failure(bytes), member: "x.npy", offset: f.centrals[1], "unique member names")
    }

    /// Members `x` and `x.npy` are different zip names but the same numpy array name.
    @Test func duplicateArrayNames() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        try python(
            """
            import zipfile, io
            buf = io.BytesIO(); np.save(buf, np.zeros(2))
            with zipfile.ZipFile('bad.npz', 'w') as zf:
                zf.writestr('x', buf.getvalue()); zf.writestr('x.npy', buf.getvalue())
            """, in: f.directory)
        let error = formatError { _ = try NPZArchive(path: f.directory.path("bad.npz")) }
        check(error, member: "x.npy", offset: nil, "both name array 'x'")
    }

    @Test func localHeaderDisagrees() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var name = f.bytes
        name[f.locals[1] + 30] = UInt8(ascii: "z")
        check(
            f.failure(name), member: "y.npy", offset: f.locals[1] + 30, "expected the local header to name 'y.npy'",
            "found 'z.npy'")
        var size = f.bytes
        size.setU32(size.u32(at: f.locals[0] + 22) - 1, at: f.locals[0] + 22)
        check(f.failure(size), member: "x.npy", offset: f.locals[0] + 22, "local header uncompressed size")
        var method = f.bytes
        method.setU16(8, at: f.locals[0] + 8)
        check(
            f.failure(method), member: "x.npy", offset: f.locals[0] + 8, "compression method 0",
            "found 8 in the local header")
        var signature = f.bytes
        signature.setU32(0, at: f.locals[1])
        check(
            f.failure(signature), member: "y.npy", offset: f.locals[1],
            "expected 0x04034b50 local file header signature, found 0x00000000")
    }

    @Test func offsetsPastTheEnd() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        var bytes = f.bytes
        bytes.setU32(0x7000_0000, at: f.centrals[1] + 42)
        check(f.failure(bytes), member: "y.npy", offset: 0x7000_0000, "local file header", "runs past")
        let eocd = f.bytes.count - 22
        var directory = f.bytes
        directory.setU32(0x10_0000, at: eocd + 16)
        check(f.failure(directory), member: nil, offset: eocd, "central directory", "runs past")
        var count = f.bytes
        count.setU16(5000, at: eocd + 8)
        count.setU16(5000, at: eocd + 10)
        check(f.failure(count), member: nil, offset: eocd, "room for 5000 entries")
    }

    @Test func badNPYInsideAMember() throws {
        let f = try Fixture(compressed: false)
        defer { f.directory.cleanup() }
        let archive = try f.open(f.bytes)
        let y = archive.member(named: "y")!
        var bytes = f.bytes
        bytes[y.dataOffset + 6] = 9  // NPY major version
        bytes.setU32(0, at: f.centrals[1] + 16)  // keep the CRC check out of the way
        bytes.setU32(0, at: f.locals[1] + 14)
        let error = f.failure(bytes, options: NPYReadOptions(verifyCRC: false))
        check(error, member: "y.npy", offset: y.dataOffset + 6, "expected NPY version 1.0, 2.0 or 3.0")
        #expect(
            error?.description.hasPrefix("\(f.directory.path("bad.npz")): member 'y.npy': offset \(y.dataOffset + 6): ")
                == true)
    }
}
