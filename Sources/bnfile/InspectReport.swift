import BatchNormFiles
import Glibc
import NumPyFormat

/// What `inspect` found in one file.
struct InspectFileReport {
    var path: String
    var format: String
    var arrays: [InspectArrayReport]

    /// Reads every array of the file (so CRCs and bool bytes are verified) and describes it.
    init(path: String, withStats: Bool, options: NPYReadOptions) throws {
        self.path = path
        if try Self.isNPY(path) {
            format = "npy"
            let stem = Self.stem(of: path)
            let array = try BFloat16Declaration.declared(NPYFile.read(path: path, options: options), key: stem,
                                                  options: options)
            let size = array.byteCount + NPYFile.encodeHeader(array.header).count
            arrays = [
                try InspectArrayReport(
                    name: stem, array: array, storage: "stored", compressedBytes: size, rawBytes: size,
                    withStats: withStats)
            ]
        } else {
            format = "npz"
            let archive = try NPZArchive(path: path, options: options)
            arrays = try archive.members.map { member in
                try InspectArrayReport(
                    name: member.name, array: try archive.array(named: member.name),
                    storage: member.storage.rawValue, compressedBytes: member.compressedSize,
                    rawBytes: member.uncompressedSize, withStats: withStats)
            }
        }
    }

    /// Decided by content, not extension: a misnamed file is still described correctly.
    /// An unreadable file goes by its extension, so the reader reports why it failed.
    private static func isNPY(_ path: String) throws -> Bool {
        var head = [UInt8](repeating: 0, count: 6)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return path.hasSuffix(".npy") }
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, 6) }
        close(fd)
        if count == 6 && head == [0x93] + Array("NUMPY".utf8) { return true }
        return count >= 2 && head.starts(with: [0x50, 0x4b]) ? false : path.hasSuffix(".npy")
    }

    /// The file name without folder and extension: the array's name for an .npy file.
    private static func stem(of path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}

struct InspectArrayReport {
    var name: String
    var header: NPYArrayHeader
    var storage: String
    var compressedBytes: Int
    var rawBytes: Int
    /// "ok" when verified, "unchecked", or "none" for .npy (the format has no checksum).
    var crc: String
    var stats: InspectStats?
    /// Set with --stats, so that "no statistics" (complex) can be told from "not asked".
    var statsRequested: Bool
    /// The first items of a string array, and how many there are in all.
    var text: InspectStrings?

    init(
        name: String, array: NPYArray, storage: String, compressedBytes: Int, rawBytes: Int, withStats: Bool
    ) throws {
        self.name = name
        header = array.header
        self.storage = storage
        self.compressedBytes = compressedBytes
        self.rawBytes = rawBytes
        switch array.checksum {
        case .verified: crc = "ok"
        case .notChecked: crc = "unchecked"
        case .absent: crc = "none"
        }
        statsRequested = withStats
        stats = withStats ? try InspectStats(array) : nil
        text = try InspectStrings(array)
    }

    var order: String { header.fortranOrder ? "F" : "C" }
}
