/// One member's zip record: as the central directory describes it to a reader, or as
/// `NPZWriter` records it for the local header and central directory it writes.
///
/// For reading, the central directory, not the local headers, is authoritative: it is
/// what every zip reader (and numpy) trusts, and it is the only place sizes are
/// guaranteed when data descriptors are used.
struct ZipEntry {
    var name: String
    var nameBytes: [UInt8]
    var flags: UInt16
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
    /// Where this entry's central directory record was read, for messages; 0 for an
    /// entry being written.
    var recordOffset: Int
}

extension ZipEntry {
    /// An entry to write, flagged as having a UTF-8 name when the name is not ASCII.
    init(
        writing name: String, method: UInt16, crc: UInt32, compressedSize: Int, uncompressedSize: Int,
        localHeaderOffset: Int
    ) {
        let bytes = Array(name.utf8)
        self.init(
            name: name, nameBytes: bytes, flags: bytes.allSatisfy { $0 < 0x80 } ? 0 : ZipFlag.utf8Name,
            method: method, crc: crc, compressedSize: compressedSize, uncompressedSize: uncompressedSize,
            localHeaderOffset: localHeaderOffset, recordOffset: 0)
    }
}
