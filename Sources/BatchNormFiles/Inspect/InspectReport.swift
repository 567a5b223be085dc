import NumPyFormat

/// What `bnfile inspect` found in one file: every array, fully read and verified.
public struct InspectFileReport {
    public var path: String
    public var format: String
    public var arrays: [InspectArrayReport]

    /// Reads every array of the file (so CRCs and bool bytes are verified) and describes
    /// it. Arrays are read as streams (`NPYArrayStream`): memory stays within a few
    /// pieces whatever their size, stored or deflated.
    public init(path: String, withStats: Bool, options: NPYReadOptions) throws {
        self.path = path
        if NumPyFileFormat(ofFileAt: path) == .npy {
            format = "npy"
            let stem = Self.stem(of: path)
            let stream = try NPYFile.arrayStream(
                path: path, options: options, declaringBFloat16: options.bfloat16Arrays.contains(stem))
            let size = (stream.header.byteCount ?? 0) + NPYFile.encodeHeader(stream.header).count
            arrays = [
                try InspectArrayReport(
                    name: stem, stream: stream, storage: "stored", compressedBytes: size, rawBytes: size,
                    withStats: withStats)
            ]
        } else {
            format = "npz"
            let archive = try NPZArchive(path: path, options: options)
            arrays = try archive.members.map { member in
                try InspectArrayReport(
                    name: member.name, stream: try archive.arrayStream(named: member.name),
                    storage: member.storage.rawValue, compressedBytes: member.compressedSize,
                    rawBytes: member.uncompressedSize, withStats: withStats)
            }
        }
    }

    /// The file name without folder and extension: the array's name for an .npy file.
    private static func stem(of path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}

public struct InspectArrayReport {
    public var name: String
    public var header: NPYArrayHeader
    public var storage: String
    public var compressedBytes: Int
    public var rawBytes: Int
    /// "ok" when verified, "unchecked", or "none" for .npy (the format has no checksum).
    public var crc: String
    public var stats: InspectStats?
    /// Set with --stats, so that "no statistics" (complex) can be told from "not asked".
    public var statsRequested: Bool
    /// The first items of a string array, and how many there are in all.
    public var text: InspectStrings?

    /// Reads `stream` through: once for the strings a string array shows, or for
    /// `--stats` (twice, as the standard deviation needs the mean first), else just to
    /// check it. The first pass checks the CRC.
    init(
        name: String, stream: NPYArrayStream, storage: String, compressedBytes: Int, rawBytes: Int, withStats: Bool
    ) throws {
        self.name = name
        header = stream.header
        self.storage = storage
        self.compressedBytes = compressedBytes
        self.rawBytes = rawBytes
        switch stream.checksum {
        case .verified: crc = "ok"
        case .notChecked: crc = "unchecked"
        case .absent: crc = "none"
        }
        statsRequested = withStats
        text = try InspectStrings(stream)
        stats = withStats ? try InspectStats(stream) : nil
        try stream.verify()
    }

    public var order: String { header.fortranOrder ? "F" : "C" }
}
