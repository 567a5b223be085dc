/// Signatures and fixed sizes from the zip specification (PKWARE APPNOTE.TXT).
enum ZipSignature {
    static let localFileHeader: UInt32 = 0x0403_4b50
    static let centralDirectoryHeader: UInt32 = 0x0201_4b50
    static let endOfCentralDirectory: UInt32 = 0x0605_4b50
    static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4b50
    static let zip64Locator: UInt32 = 0x0706_4b50
    static let dataDescriptor: UInt32 = 0x0807_4b50
}

enum ZipSize {
    static let localFileHeader = 30
    static let centralDirectoryHeader = 46
    static let endOfCentralDirectory = 22
    static let zip64EndOfCentralDirectory = 56
    static let zip64Locator = 20
    /// The EOCD comment length is 16 bits, bounding how far from the end the EOCD can be.
    static let maxComment = 0xFFFF
}

enum ZipFlag {
    static let encrypted: UInt16 = 1 << 0
    static let dataDescriptor: UInt16 = 1 << 3
    static let strongEncryption: UInt16 = 1 << 6
    static let utf8Name: UInt16 = 1 << 11
}

enum ZipExtraID {
    static let zip64: UInt16 = 0x0001
    /// Alignment padding, as Android's zipalign/apksigner write it: a 2-byte alignment
    /// value followed by zeros. Readers skip extra fields they do not know.
    static let alignment: UInt16 = 0xD935
}

/// Marker values meaning "the real value is in the ZIP64 extra field".
enum Zip64Marker {
    static let size32: UInt32 = 0xFFFF_FFFF
    static let count16: UInt16 = 0xFFFF
}

/// Bounds-checked little-endian access to an archive's bytes. Every read names what it
/// was looking for, so a cut or lying archive yields a message saying which structure
/// ran past the end.
struct ZipBytes {
    let bytes: UnsafeRawBufferPointer
    let context: ErrorContext

    var count: Int { bytes.count }

    func require(_ offset: Int, _ length: Int, _ what: String, limit: Int? = nil) throws {
        let end = limit ?? bytes.count
        guard offset >= 0, let last = CheckedArithmetic.add(offset, length), last <= end else {
            throw context.error(
                .truncated(expected: length, found: max(0, end - offset)),
                at: offset,
                "expected \(what) (\(length) bytes), but it runs past "
                    + (limit == nil ? "the end of the file (\(bytes.count) bytes)" : "offset \(end)"))
        }
    }

    func u16(_ offset: Int) -> UInt16 { readLE(UInt16.self, bytes, at: offset) }
    func u32(_ offset: Int) -> UInt32 { readLE(UInt32.self, bytes, at: offset) }
    func u64(_ offset: Int) -> UInt64 { readLE(UInt64.self, bytes, at: offset) }

    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }

    func expectSignature(_ expected: UInt32, at offset: Int, _ what: String) throws {
        try require(offset, 4, "\(what) signature")
        let found = u32(offset)
        guard found == expected else {
            throw context.error(
                .malformed,
                at: offset,
                "expected 0x\(hex(expected, digits: 8)) \(what) signature, found 0x\(hex(found, digits: 8))")
        }
    }

    /// A 64-bit value from the file as an `Int` offset or size.
    func int(_ value: UInt64, at offset: Int, _ what: String) throws -> Int {
        guard let result = CheckedArithmetic.int(value) else {
            throw context.error(.malformed, at: offset, "\(what) \(value) is larger than any file")
        }
        return result
    }
}

/// The ZIP64 extra field holds, in this order, only those of uncompressed size,
/// compressed size, local header offset (and disk) whose regular field is the marker.
struct Zip64Fields {
    var uncompressedSize: UInt64?
    var compressedSize: UInt64?
    var localHeaderOffset: UInt64?

    static func parse(
        extra: Int, length: Int, in zip: ZipBytes,
        needUncompressed: Bool, needCompressed: Bool, needOffset: Bool
    ) throws -> Zip64Fields {
        var fields = Zip64Fields()
        var position = extra
        let end = extra + length
        while position + 4 <= end {
            let id = zip.u16(position)
            let size = Int(zip.u16(position + 2))
            let dataStart = position + 4
            guard dataStart + size <= end else {
                throw zip.context.error(
                    .malformed,
                    at: position, "expected an extra field of \(size) bytes, but the extra area ends first")
            }
            if id == ZipExtraID.zip64 {
                var cursor = dataStart
                func next(_ name: String) throws -> UInt64 {
                    guard cursor + 8 <= dataStart + size else {
                        throw zip.context.error(
                            .malformed,
                            at: position,
                            "expected the ZIP64 extra field to hold the \(name), but it is only \(size) bytes")
                    }
                    defer { cursor += 8 }
                    return zip.u64(cursor)
                }
                if needUncompressed { fields.uncompressedSize = try next("uncompressed size") }
                if needCompressed { fields.compressedSize = try next("compressed size") }
                if needOffset { fields.localHeaderOffset = try next("local header offset") }
                return fields
            }
            position = dataStart + size
        }
        if needUncompressed || needCompressed || needOffset {
            throw zip.context.error(
                .malformed,
                at: extra, "expected a ZIP64 extra field for sizes marked 0xffffffff, found none")
        }
        return fields
    }
}
