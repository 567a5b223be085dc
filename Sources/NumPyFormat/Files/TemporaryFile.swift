import Glibc

/// The temporary file an atomic output is written to, and the names it may take.
///
/// Where the file system allows it (Linux `O_TMPFILE`: ext4, xfs, btrfs, tmpfs) the file
/// has no name while it is written, so a process killed by any signal, SIGKILL
/// included, or crashing, leaves nothing behind: the kernel frees an unnamed file with
/// its last descriptor. It gets a name only when complete, just before the rename.
///
/// Elsewhere it is named `.<OUT>.tmp-<pid>-<random>`, recording the owning process, and
/// `reclaimAbandoned(inFolder:)` removes such files whose process no longer exists.
public enum TemporaryFile {
    /// Longest file name the common Linux file systems accept (NAME_MAX).
    public static let maxNameBytes = 255

    #if os(Linux)
    /// `O_TMPFILE`, a C macro Swift does not import: `__O_TMPFILE | O_DIRECTORY`, where
    /// `__O_TMPFILE` is 0o20000000 on x86-64 and arm64 (the directory flag makes kernels
    /// without O_TMPFILE fail with EISDIR instead of creating a file).
    private static let unnamedFlag: Int32 = 0o20000000 | O_DIRECTORY
    #endif

    /// An unnamed file in `folder` ("" for the current one), open for writing, or nil
    /// where the kernel or file system does not offer them.
    public static func openUnnamed(inFolder folder: String) -> Int32? {
        #if os(Linux)
        let fd = open(folder.isEmpty ? "." : folder, unnamedFlag | O_WRONLY | O_CLOEXEC, 0o666)
        return fd >= 0 ? fd : nil
        #else
        return nil
        #endif
    }

    /// Gives the unnamed file open on `fd` the name `path`; errno on failure.
    public static func link(_ fd: Int32, to path: String) -> Int32? {
        #if os(Linux)
        if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 { return nil }
        return errno
        #else
        return ENOTSUP
        #endif
    }

    /// `.<base>.tmp-<pid>-<suffix>` in `folder`, with `base` shortened (on a character
    /// boundary) so the whole name fits `maxNameBytes`: OUT may itself be up to 255 bytes
    /// long, as numpy writes such names.
    public static func name(folder: String, base: String, pid: Int32, suffix: String) -> String {
        let tail = ".tmp-\(pid)-\(suffix)"
        var kept = ""
        var bytes = 1 + tail.utf8.count
        for character in base {
            let size = String(character).utf8.count
            guard bytes + size <= maxNameBytes else { break }
            kept.append(character)
            bytes += size
        }
        return folder + "." + kept + tail
    }

    /// Twelve random letters and digits (71 bits).
    public static func randomSuffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The owning process of a temporary name `.<base>.tmp-<pid>-<12 letters>`, or nil
    /// for any other name.
    static func owner(ofName name: String) -> Int32? {
        guard name.hasPrefix("."), let marker = name.ranges(of: ".tmp-").last else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 12, parts[1].allSatisfy({ $0.isLetter || $0.isNumber }),
            let pid = Int32(parts[0]), pid > 0
        else { return nil }
        return pid
    }

    /// Removes from `folder` the temporary files of processes that no longer exist, and
    /// returns their names. A process is taken as gone only when `kill(pid, 0)` says no
    /// such process (ESRCH); a live one, or one this user may not signal, keeps its file.
    /// Process ids are per machine: in a folder that runs on several machines write to
    /// at once (over NFS, say), another machine's live run could be taken for a dead one,
    /// so such a folder should not be shared by concurrent runs of different machines.
    @discardableResult
    public static func reclaimAbandoned(inFolder folder: String) -> [String] {
        var removed: [String] = []
        for name in FolderListing.names(in: folder) ?? [] {
            guard let pid = owner(ofName: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if unlink(folder + name) == 0 { removed.append(name) }
        }
        return removed
    }
}
