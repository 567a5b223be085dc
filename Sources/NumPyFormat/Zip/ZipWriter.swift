/// Encodes the zip records bnfile writes. Only what .npz needs: no comments, no
/// encryption, a fixed timestamp, ZIP64 fields exactly when a size or offset needs them.
enum ZipWriter {
    /// Sizes and offsets above this get ZIP64 fields. Python's zipfile (and so numpy)
    /// uses 2^31 - 1 rather than 2^32 - 1, which keeps readers that treat the 32-bit
    /// fields as signed working; we do the same.
    static let zip64Threshold = Int(Int32.max)

    /// 1980-01-01 00:00:00, the earliest DOS date, as numpy writes: a fixed timestamp
    /// makes the same arrays produce the same bytes.
    static let dosTime: UInt16 = 0
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1

    /// Alignment of stored member data, matching numpy's 64-byte array alignment so the
    /// mapped data suits any element type.
    static let dataAlignment = 64

    private static func versionNeeded(zip64: Bool, method: UInt16) -> UInt16 {
        zip64 ? 45 : (method == 8 ? 20 : 10)
    }

    /// Local header for `entry` at `entry.localHeaderOffset`. With `zip64`, both sizes
    /// live in a ZIP64 extra field (the spec requires both in local headers). A stored
    /// member gets an alignment extra field sized so its data starts on a 64-byte boundary.
    static func localHeader(_ entry: ZipEntry, zip64: Bool, align: Bool) -> [UInt8] {
        var extra: [UInt8] = []
        if zip64 {
            appendLE(ZipExtraID.zip64, to: &extra)
            appendLE(UInt16(16), to: &extra)
            appendLE(UInt64(entry.uncompressedSize), to: &extra)
            appendLE(UInt64(entry.compressedSize), to: &extra)
        }
        if align {
            let unpadded = entry.localHeaderOffset + ZipSize.localFileHeader + entry.nameBytes.count + extra.count
            var padding = (dataAlignment - unpadded % dataAlignment) % dataAlignment
            // The field needs 6 bytes (id, size, alignment); a shorter gap takes a whole extra block.
            if padding > 0 && padding < 6 { padding += dataAlignment }
            if padding > 0 {
                appendLE(ZipExtraID.alignment, to: &extra)
                appendLE(UInt16(padding - 4), to: &extra)
                appendLE(UInt16(dataAlignment), to: &extra)
                extra += [UInt8](repeating: 0, count: padding - 6)
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ZipSize.localFileHeader + entry.nameBytes.count + extra.count)
        appendLE(ZipSignature.localFileHeader, to: &bytes)
        appendSharedFields(
            entry, zip64: zip64, markCompressed: zip64, markUncompressed: zip64,
            extraCount: extra.count, to: &bytes)
        bytes += entry.nameBytes
        bytes += extra
        return bytes
    }

    /// The run of fields the local header and the central record share, in the same
    /// order: version needed, flags, method, time, date, CRC, the two sizes (0xFFFFFFFF
    /// where a ZIP64 extra field carries the real value), name and extra lengths.
    private static func appendSharedFields(
        _ entry: ZipEntry, zip64: Bool, markCompressed: Bool,
        markUncompressed: Bool, extraCount: Int, to bytes: inout [UInt8]
    ) {
        appendLE(versionNeeded(zip64: zip64, method: entry.method), to: &bytes)
        appendLE(entry.flags, to: &bytes)
        appendLE(entry.method, to: &bytes)
        appendLE(dosTime, to: &bytes)
        appendLE(dosDate, to: &bytes)
        appendLE(entry.crc, to: &bytes)
        appendLE(markCompressed ? Zip64Marker.size32 : UInt32(entry.compressedSize), to: &bytes)
        appendLE(markUncompressed ? Zip64Marker.size32 : UInt32(entry.uncompressedSize), to: &bytes)
        appendLE(UInt16(entry.nameBytes.count), to: &bytes)
        appendLE(UInt16(extraCount), to: &bytes)
    }

    /// Offsets within a local header of the fields patched after deflating.
    static func crcOffset(_ entry: ZipEntry) -> Int { entry.localHeaderOffset + 14 }
    static func compressedSizeOffset(_ entry: ZipEntry, zip64: Bool) -> Int {
        zip64
            ? entry.localHeaderOffset + ZipSize.localFileHeader + entry.nameBytes.count + 4 + 8
            : entry.localHeaderOffset + 18
    }

    static func centralRecord(_ entry: ZipEntry) -> [UInt8] {
        let bigUncompressed = entry.uncompressedSize > zip64Threshold
        let bigCompressed = entry.compressedSize > zip64Threshold
        let bigOffset = entry.localHeaderOffset > zip64Threshold
        var extra: [UInt8] = []
        if bigUncompressed || bigCompressed || bigOffset {
            var fields: [UInt8] = []
            if bigUncompressed { appendLE(UInt64(entry.uncompressedSize), to: &fields) }
            if bigCompressed { appendLE(UInt64(entry.compressedSize), to: &fields) }
            if bigOffset { appendLE(UInt64(entry.localHeaderOffset), to: &fields) }
            appendLE(ZipExtraID.zip64, to: &extra)
            appendLE(UInt16(fields.count), to: &extra)
            extra += fields
        }
        let zip64 = !extra.isEmpty
        var bytes: [UInt8] = []
        appendLE(ZipSignature.centralDirectoryHeader, to: &bytes)
        appendLE(UInt16(3 << 8) | 45, to: &bytes)  // made by: Unix, spec 4.5
        appendSharedFields(
            entry, zip64: zip64, markCompressed: bigCompressed, markUncompressed: bigUncompressed,
            extraCount: extra.count, to: &bytes)
        appendLE(UInt16(0), to: &bytes)  // comment length
        appendLE(UInt16(0), to: &bytes)  // disk number
        appendLE(UInt16(0), to: &bytes)  // internal attributes
        appendLE(UInt32(0o100644) << 16, to: &bytes)  // external: regular file, rw-r--r--
        appendLE(bigOffset ? Zip64Marker.size32 : UInt32(entry.localHeaderOffset), to: &bytes)
        bytes += entry.nameBytes
        bytes += extra
        return bytes
    }

    /// The end records, with the ZIP64 record and locator only when a count, size or
    /// offset does not fit the classic fields.
    static func endRecords(entryCount: Int, directoryOffset: Int, directorySize: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        let zip64 =
            entryCount >= Int(Zip64Marker.count16) || directoryOffset > zip64Threshold
            || directorySize > zip64Threshold
        if zip64 {
            let recordOffset = directoryOffset + directorySize
            appendLE(ZipSignature.zip64EndOfCentralDirectory, to: &bytes)
            appendLE(UInt64(ZipSize.zip64EndOfCentralDirectory - 12), to: &bytes)
            appendLE(UInt16(3 << 8) | 45, to: &bytes)
            appendLE(UInt16(45), to: &bytes)
            appendLE(UInt32(0), to: &bytes)
            appendLE(UInt32(0), to: &bytes)
            appendLE(UInt64(entryCount), to: &bytes)
            appendLE(UInt64(entryCount), to: &bytes)
            appendLE(UInt64(directorySize), to: &bytes)
            appendLE(UInt64(directoryOffset), to: &bytes)
            appendLE(ZipSignature.zip64Locator, to: &bytes)
            appendLE(UInt32(0), to: &bytes)
            appendLE(UInt64(recordOffset), to: &bytes)
            appendLE(UInt32(1), to: &bytes)
        }
        let count16 = zip64 ? Zip64Marker.count16 : UInt16(entryCount)
        appendLE(ZipSignature.endOfCentralDirectory, to: &bytes)
        appendLE(UInt16(0), to: &bytes)
        appendLE(UInt16(0), to: &bytes)
        appendLE(count16, to: &bytes)
        appendLE(count16, to: &bytes)
        appendLE(zip64 ? Zip64Marker.size32 : UInt32(directorySize), to: &bytes)
        appendLE(zip64 ? Zip64Marker.size32 : UInt32(directoryOffset), to: &bytes)
        appendLE(UInt16(0), to: &bytes)
        return bytes
    }
}
