import Glibc

/// A whole file mapped read-only into memory.
///
/// Mapping instead of reading is what lets a stored npz member or an .npy file be used
/// in place: the kernel pages data in on first touch and the library never copies it.
/// The mapping is private and read-only; if another process truncates the file while it
/// is mapped, touching the lost pages raises SIGBUS, the usual price of mmap;
/// `MappingFaults` turns that into a one-line error naming the file.
final class MappedFile: @unchecked Sendable {
    // Immutable after init, and the mapped pages are never written: safe to share.
    let path: String
    let base: UnsafeRawPointer?
    let count: Int
    /// Where `MappingFaults` records this mapping, to name the file if it is truncated.
    private var faultSlot: Int? = nil

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw NumPyFormatError(.system, file: path, message: "cannot open: \(systemErrorMessage())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw NumPyFormatError(.system, file: path, message: "cannot stat: \(systemErrorMessage())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw NumPyFormatError(.system, file: path, message: "not a regular file")
        }
        count = Int(info.st_size)
        if count == 0 {
            // mmap refuses zero-length mappings; an empty file is simply no bytes.
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw NumPyFormatError(.system, file: path, message: "cannot map into memory: \(systemErrorMessage())")
        }
        base = UnsafeRawPointer(mapped)
        faultSlot = MappingFaults.register(base: base!, count: count, path: path)
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Hands the pages from the one holding `range.lowerBound` up to the one holding
    /// `range.upperBound` (excluded) back to the kernel: the process's resident memory
    /// drops by them, and touching them again reads them from the file once more (the
    /// mapping is private, read-only and never written, so nothing else is lost). A
    /// reader passing once over a huge member keeps only its recent pages this way.
    func releasePages(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Platform.pageSize
        let start = range.lowerBound / page * page
        let end = min(range.upperBound, count) / page * page
        guard start < end else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        if let faultSlot { MappingFaults.unregister(faultSlot) }
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// The text for the current `errno`.
func systemErrorMessage() -> String {
    String(cString: strerror(errno))
}
