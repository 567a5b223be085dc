import Glibc

/// A file as the system knows it: device and inode, whatever path, symlink or hard
/// link names it. Two spellings of one file (`a.npz`, `./a.npz`, a link to it) have
/// one identity; comparing identities, not strings, is how a tool refuses to write its
/// results over its own input.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file `path` names (following symlinks), or nil when there is
    /// no such file.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The identity of the file open on descriptor `fd`.
    public init?(descriptor fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        self.init(info)
    }

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
