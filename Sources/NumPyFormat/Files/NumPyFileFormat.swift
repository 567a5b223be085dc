import Glibc

/// Which of numpy's two file formats a file holds.
public enum NumPyFileFormat: String, Sendable {
    /// One array (`np.save`).
    case npy
    /// A zip archive of .npy members (`np.savez`, `np.savez_compressed`).
    case npz

    /// Decided by content, not extension: the .npy magic or the zip signature `PK` in
    /// the first bytes, so a misnamed file is still read correctly. A file that cannot
    /// be read, or holds neither, goes by its extension (`.npy`, else npz), so that the
    /// reader then reports why it failed.
    public init(ofFileAt path: String) {
        var head = [UInt8](repeating: 0, count: npyMagic.count)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            self = path.hasSuffix(".npy") ? .npy : .npz
            return
        }
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        if count == npyMagic.count && head == npyMagic {
            self = .npy
        } else if count >= 2 && head.starts(with: [0x50, 0x4b]) {
            self = .npz
        } else {
            self = path.hasSuffix(".npy") ? .npy : .npz
        }
    }
}
