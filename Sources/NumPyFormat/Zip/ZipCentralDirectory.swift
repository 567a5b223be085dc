/// Finds and parses the end-of-central-directory records and the central directory.
enum ZipCentralDirectory {
    struct Location {
        var offset: Int
        var size: Int
        var entryCount: Int
    }

    static func read(_ zip: ZipBytes) throws -> [ZipEntry] {
        let location = try locate(zip)
        return try entries(zip, location)
    }

    /// The EOCD is the last 22 bytes plus a comment of up to 64 KiB, so it is searched
    /// for backwards over that range; a candidate counts only if its comment length
    /// reaches exactly to the end of the file, so comment bytes cannot fake it.
    static func locate(_ zip: ZipBytes) throws -> Location {
        let eocd = try findEndRecord(zip)
        let diskNumber = zip.u16(eocd + 4)
        let cdDisk = zip.u16(eocd + 6)
        var entryCount = Int(zip.u16(eocd + 10))
        var cdSize = Int(zip.u32(eocd + 12))
        var cdOffset = Int(zip.u32(eocd + 16))
        // A count of 0xFFFF alone is also a real count: Python's zipfile (and so numpy)
        // writes exactly 65535 members that way, with no ZIP64 records. Sizes and offsets
        // of 0xFFFFFFFF always mean ZIP64.
        let needs64 = zip.u32(eocd + 12) == Zip64Marker.size32 || zip.u32(eocd + 16) == Zip64Marker.size32
        let locator = eocd - ZipSize.zip64Locator
        var cdLimit = eocd
        if locator >= 0 && zip.u32(locator) == ZipSignature.zip64Locator {
            let record = try zip64EndRecord(zip, locator: locator)
            entryCount = try zip.int(zip.u64(record + 32), at: record + 32, "entry count")
            cdSize = try zip.int(zip.u64(record + 40), at: record + 40, "central directory size")
            cdOffset = try zip.int(zip.u64(record + 48), at: record + 48, "central directory offset")
            cdLimit = record
        } else if needs64 {
            throw zip.context.error(
                .malformed,
                at: eocd, "expected a ZIP64 locator before the end record, whose fields say ZIP64, found none")
        } else if diskNumber != 0 || cdDisk != 0 {
            throw zip.context.error(
                .unsupported, at: eocd + 4, "expected a single-disk archive, found a multi-disk one")
        }
        guard let cdEnd = CheckedArithmetic.add(cdOffset, cdSize), cdEnd <= cdLimit else {
            throw zip.context.error(
                .truncated(expected: cdSize, found: max(0, cdLimit - cdOffset)),
                at: eocd,
                "expected the central directory (\(cdSize) bytes at offset \(cdOffset)) to end by offset \(cdLimit), "
                    + "but it runs past it: archive truncated or sizes wrong")
        }
        try requireAdjacent(cdEnd: cdEnd, cdLimit: cdLimit, cdOffset: cdOffset, cdSize: cdSize, zip: zip)
        guard entryCount > 0 else {
            throw zip.context.error(.malformed, at: eocd, "expected at least one member, found an empty archive")
        }
        // Every record is at least 46 bytes: a count that cannot fit is refused before
        // anything is allocated for it.
        guard let minimum = CheckedArithmetic.multiply(entryCount, ZipSize.centralDirectoryHeader),
            minimum <= cdSize
        else {
            throw zip.context.error(
                .malformed,
                at: eocd,
                "expected room for \(entryCount) entries in the central directory, but it is only \(cdSize) bytes")
        }
        return Location(offset: cdOffset, size: cdSize, entryCount: entryCount)
    }

    /// The offset of the ZIP64 end record the locator at `locator` points to, checked:
    /// before the locator, whole, signed, and for a single-disk archive.
    private static func zip64EndRecord(_ zip: ZipBytes, locator: Int) throws -> Int {
        let record = try zip.int(zip.u64(locator + 8), at: locator + 8, "ZIP64 end record offset")
        guard record < locator else {
            throw zip.context.error(
                .malformed, at: locator + 8,
                "expected the ZIP64 end of central directory record before its locator (offset \(locator)), "
                    + "but the locator points to offset \(record)"
                    + (record >= zip.count ? ", past the end of the file (\(zip.count) bytes)" : "")
                    + ": archive truncated or offset wrong")
        }
        try zip.require(
            record, ZipSize.zip64EndOfCentralDirectory, "ZIP64 end of central directory record", limit: locator)
        try zip.expectSignature(ZipSignature.zip64EndOfCentralDirectory, at: record, "ZIP64 end of central directory")
        guard zip.u32(record + 16) == 0, zip.u32(record + 20) == 0 else {
            throw zip.context.error(
                .unsupported, at: record + 16, "expected a single-disk archive, found a multi-disk one")
        }
        return record
    }

    /// Refuses bytes between the central directory and the end record.
    ///
    /// numpy (through Python's zipfile) does not read the central directory at the
    /// offset the end record gives: it reads the `size` bytes just before the end record
    /// and shifts every offset by the difference. The two agree exactly when the
    /// directory ends where the end record (or its ZIP64 record) begins. Where they do
    /// not, one of two archives concatenated, data prepended, or a directory forged
    /// inside a member's data would be read one way by bnfile and another by numpy.
    static func requireAdjacent(cdEnd: Int, cdLimit: Int, cdOffset: Int, cdSize: Int, zip: ZipBytes) throws {
        guard cdEnd == cdLimit else {
            throw zip.context.error(
                .inconsistent,
                at: cdEnd,
                "expected the central directory (\(cdSize) bytes at offset \(cdOffset)) to end where the end record "
                    + "begins, at offset \(cdLimit), but \(cdLimit - cdEnd) bytes lie between: two archives "
                    + "concatenated, data prepended, or a central directory forged inside member data, "
                    + "which numpy reads differently")
        }
    }

    private static func findEndRecord(_ zip: ZipBytes) throws -> Int {
        let bytes = zip.bytes
        let looksLikeZip = bytes.count >= 4 && zip.u32(0) == ZipSignature.localFileHeader
        guard bytes.count >= ZipSize.endOfCentralDirectory else {
            throw zip.context.error(
                looksLikeZip
                    ? .truncated(expected: ZipSize.endOfCentralDirectory, found: bytes.count) : .wrongFormat,
                at: 0,
                looksLikeZip
                    ? "expected an end of central directory record, but the archive is truncated at \(bytes.count) bytes"
                    : "expected a zip archive, found \(bytes.count) bytes that are not one")
        }
        let lowest = max(0, bytes.count - ZipSize.endOfCentralDirectory - ZipSize.maxComment)
        var candidate = bytes.count - ZipSize.endOfCentralDirectory
        while candidate >= lowest {
            if zip.u32(candidate) == ZipSignature.endOfCentralDirectory,
                candidate + ZipSize.endOfCentralDirectory + Int(zip.u16(candidate + 20)) == bytes.count
            {
                return candidate
            }
            candidate -= 1
        }
        if looksLikeZip {
            throw zip.context.error(
                .truncated(expected: ZipSize.endOfCentralDirectory, found: 0),
                at: bytes.count,
                "expected an end of central directory record near the end of the file, found none: archive truncated")
        }
        let isNPY = bytes.count >= 6 && Array(bytes[0..<6]) == npyMagic
        throw zip.context.error(
            .wrongFormat,
            at: 0,
            "expected a zip archive (signature 0x04034b50), found 0x\(hex(bytes.count >= 4 ? zip.u32(0) : 0, digits: 8))"
                + (isNPY ? " (this is an .npy file, not an .npz)" : ""))
    }

    static func entries(_ zip: ZipBytes, _ location: Location) throws -> [ZipEntry] {
        var result: [ZipEntry] = []
        result.reserveCapacity(location.entryCount)
        var position = location.offset
        let end = location.offset + location.size
        for _ in 0..<location.entryCount {
            try zip.require(position, ZipSize.centralDirectoryHeader, "central directory record", limit: end)
            try zip.expectSignature(ZipSignature.centralDirectoryHeader, at: position, "central directory header")
            let nameLength = Int(zip.u16(position + 28))
            let extraLength = Int(zip.u16(position + 30))
            let commentLength = Int(zip.u16(position + 32))
            let recordLength = ZipSize.centralDirectoryHeader + nameLength + extraLength + commentLength
            try zip.require(
                position, recordLength, "central directory record with its name and extra fields", limit: end)
            let nameBytes = Array(zip.slice(position + ZipSize.centralDirectoryHeader, nameLength))
            let rawCompressed = zip.u32(position + 20)
            let rawUncompressed = zip.u32(position + 24)
            let rawOffset = zip.u32(position + 42)
            let zip64 = try Zip64Fields.parse(
                extra: position + ZipSize.centralDirectoryHeader + nameLength, length: extraLength, in: zip,
                needUncompressed: rawUncompressed == Zip64Marker.size32,
                needCompressed: rawCompressed == Zip64Marker.size32,
                needOffset: rawOffset == Zip64Marker.size32)
            let entry = ZipEntry(
                name: decodeName(nameBytes),
                nameBytes: nameBytes,
                flags: zip.u16(position + 8),
                method: zip.u16(position + 10),
                crc: zip.u32(position + 16),
                compressedSize: try zip.int(
                    zip64.compressedSize ?? UInt64(rawCompressed), at: position + 20, "compressed size"),
                uncompressedSize: try zip.int(
                    zip64.uncompressedSize ?? UInt64(rawUncompressed), at: position + 24, "uncompressed size"),
                localHeaderOffset: try zip.int(
                    zip64.localHeaderOffset ?? UInt64(rawOffset), at: position + 42, "local header offset"),
                recordOffset: position)
            result.append(entry)
            position += recordLength
        }
        guard position == end else {
            throw zip.context.error(
                .inconsistent,
                at: position,
                "expected the central directory to hold the \(location.entryCount) entries the end record counts, "
                    + "but \(end - position) more bytes of it follow the last one: numpy would read the members "
                    + "they describe, so the count is wrong")
        }
        return result
    }

    /// Names are UTF-8 in practice (numpy writes ASCII); bytes that are not valid UTF-8
    /// are taken as latin-1 rather than failing the whole archive over a name.
    static func decodeName(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }
}
