/// Checks a member's local header against its central directory entry and finds where
/// its data starts.
///
/// A local header that disagrees with the central directory is refused: readers that
/// trust one and readers that trust the other would otherwise see different archives,
/// which is how zip files are made to smuggle content past checks.
enum ZipLocalHeader {
    /// Returns the offset of the member's first data byte. `limit` is where member data
    /// must end (the start of the central directory).
    static func dataOffset(for entry: ZipEntry, in zip: ZipBytes, limit: Int) throws -> Int {
        let start = entry.localHeaderOffset
        try zip.require(start, ZipSize.localFileHeader, "local file header", limit: limit)
        try zip.expectSignature(ZipSignature.localFileHeader, at: start, "local file header")
        let flags = zip.u16(start + 6)
        let method = zip.u16(start + 8)
        let nameLength = Int(zip.u16(start + 26))
        let extraLength = Int(zip.u16(start + 28))
        let headerLength = ZipSize.localFileHeader + nameLength + extraLength
        try zip.require(start, headerLength, "local file header with its name and extra fields", limit: limit)
        try agreeOnNameAndMethod(entry, flags: flags, method: method, nameLength: nameLength, at: start, zip)
        let rawCompressed = zip.u32(start + 18)
        let rawUncompressed = zip.u32(start + 22)
        let zip64 = try Zip64Fields.parse(
            extra: start + ZipSize.localFileHeader + nameLength, length: extraLength, in: zip,
            needUncompressed: rawUncompressed == Zip64Marker.size32,
            needCompressed: rawCompressed == Zip64Marker.size32, needOffset: false)
        let crc = zip.u32(start + 14)
        let compressed = zip64.compressedSize ?? UInt64(rawCompressed)
        let uncompressed = zip64.uncompressedSize ?? UInt64(rawUncompressed)
        let deferred = flags & ZipFlag.dataDescriptor != 0
        // With a data descriptor the local fields may be zero (written before the sizes
        // were known); if they are filled in, they must still agree.
        let localIsBlank = deferred && crc == 0 && compressed == 0 && uncompressed == 0
        if !localIsBlank {
            try agree(crc, entry.crc, "local header CRC-32", at: start + 14, zip)
            try agree(compressed, UInt64(entry.compressedSize), "local header compressed size", at: start + 18, zip)
            try agree(
                uncompressed, UInt64(entry.uncompressedSize), "local header uncompressed size", at: start + 22, zip)
        }
        let dataStart = start + headerLength
        guard let dataEnd = CheckedArithmetic.add(dataStart, entry.compressedSize), dataEnd <= limit else {
            throw zip.context.error(
                .truncated(expected: entry.compressedSize, found: max(0, limit - dataStart)),
                at: dataStart,
                "expected \(entry.compressedSize) bytes of member data (declared size), "
                    + "but only \(max(0, limit - dataStart)) exist before the central directory: truncated or size wrong"
            )
        }
        if deferred {
            try checkDescriptor(at: dataEnd, entry: entry, wide: zip64.compressedSize != nil, zip: zip, limit: limit)
        }
        return dataStart
    }

    /// The local header names the member and its method as the central directory does,
    /// and the member is not encrypted.
    private static func agreeOnNameAndMethod(
        _ entry: ZipEntry, flags: UInt16, method: UInt16, nameLength: Int, at start: Int, _ zip: ZipBytes
    ) throws {
        let nameBytes = Array(zip.slice(start + ZipSize.localFileHeader, nameLength))
        guard nameBytes == entry.nameBytes else {
            throw zip.context.error(
                .inconsistent,
                at: start + ZipSize.localFileHeader,
                "expected the local header to name '\(entry.name)' as the central directory does, "
                    + "found '\(ZipCentralDirectory.decodeName(nameBytes))'")
        }
        guard method == entry.method else {
            throw zip.context.error(
                .inconsistent,
                at: start + 8,
                "expected compression method \(entry.method) as in the central directory, "
                    + "found \(method) in the local header")
        }
        if flags & (ZipFlag.encrypted | ZipFlag.strongEncryption) != 0 {
            throw zip.context.error(
                .unsupported, at: start + 6, "expected an unencrypted member, found the encryption flag set")
        }
    }

    private static func agree<T: BinaryInteger>(
        _ local: T, _ central: T, _ what: String, at offset: Int, _ zip: ZipBytes
    ) throws {
        guard local == central else {
            throw zip.context.error(
                .inconsistent,
                at: offset,
                "expected the \(what) to be \(central) as in the central directory, found \(local)")
        }
    }

    /// A data descriptor repeats CRC and sizes after the data, optionally preceded by its
    /// signature, with 8-byte sizes when the member is ZIP64.
    private static func checkDescriptor(
        at offset: Int, entry: ZipEntry, wide: Bool, zip: ZipBytes, limit: Int
    ) throws {
        var position = offset
        if position + 4 <= limit && zip.u32(position) == ZipSignature.dataDescriptor { position += 4 }
        let sizeWidth = wide ? 8 : 4
        try zip.require(position, 4 + 2 * sizeWidth, "data descriptor", limit: limit)
        let compressed = wide ? zip.u64(position + 4) : UInt64(zip.u32(position + 4))
        let uncompressed = wide ? zip.u64(position + 4 + sizeWidth) : UInt64(zip.u32(position + 8))
        try agree(zip.u32(position), entry.crc, "data descriptor CRC-32", at: position, zip)
        try agree(compressed, UInt64(entry.compressedSize), "data descriptor compressed size", at: position + 4, zip)
        try agree(
            uncompressed, UInt64(entry.uncompressedSize), "data descriptor uncompressed size",
            at: position + 4 + sizeWidth, zip)
    }
}
