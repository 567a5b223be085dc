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
            throw NumPyFormatError(file: path, message: "cannot open: \(systemErrorMessage())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw NumPyFormatError(file: path, message: "cannot stat: \(systemErrorMessage())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw NumPyFormatError(file: path, message: "not a regular file")
        }
        count = Int(info.st_size)
        if count == 0 {
            // mmap refuses zero-length mappings; an empty file is simply no bytes.
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw NumPyFormatError(file: path, message: "cannot map into memory: \(systemErrorMessage())")
        }
        base = UnsafeRawPointer(mapped)
        faultSlot = MappingFaults.register(base: base!, count: count, path: path)
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
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
