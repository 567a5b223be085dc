import Glibc

/// Where an atomically written output really goes, decided before anything is written.
///
/// Writing to a temporary file and renaming it over OUT is right for a regular file
/// only. Renamed over a device node (`/dev/null`) or a FIFO it would replace that node
/// for the whole system, and renamed over a symlink it would replace the link with a
/// regular file; so an existing non-regular OUT is written in place, and a symlinked
/// OUT is resolved to the file it points to, whose folder then holds the temporary file
/// (the rename must stay on one file system).
public enum OutputPlacement: Equatable, Sendable {
    /// Open and write the existing node itself: no temporary file, no rename.
    case inPlace(String)
    /// Write a temporary file beside `path` and rename it over `path` when complete.
    case replace(String)

    /// Symlinks followed at most this deep, as the kernel's own limit (ELOOP) does.
    static let maxLinks = 40

    /// The placement for `destination`. A link chain through `/proc` (as `/dev/stdout`
    /// is, to `/proc/self/fd/1`) names a descriptor of this process rather than a file
    /// to replace, so it is written in place like a device.
    public static func resolve(_ destination: String) -> OutputPlacement {
        var path = destination
        for _ in 0..<maxLinks {
            var info = stat()
            guard lstat(path, &info) == 0 else { return .replace(path) }  // a new file
            switch info.st_mode & S_IFMT {
            case S_IFREG: return .replace(path)
            case S_IFLNK:
                guard let target = readLink(path) else { return .inPlace(destination) }
                if target.hasPrefix("/proc/") { return .inPlace(destination) }
                path = target.hasPrefix("/") ? target : folder(of: path) + target
            default: return .inPlace(destination)
            }
        }
        return .inPlace(destination)  // a loop: opening fails with ELOOP, which is reported
    }

    /// The folder part of `path`, with its trailing slash ("" for a bare name).
    public static func folder(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
    }

    /// The last component of `path`.
    public static func baseName(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
