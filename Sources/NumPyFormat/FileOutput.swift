import Glibc

/// Sequential writes to a file descriptor, tracking the position so zip offsets can be
/// recorded and header fields patched in place afterwards.
struct FileOutput {
    let fd: Int32
    let name: String
    private(set) var position: Int

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        // Offsets in a zip are file positions; start from wherever the descriptor is.
        let current = lseek(fd, 0, SEEK_CUR)
        position = current < 0 ? 0 : Int(current)
    }

    /// Opens `path` for writing, creating or truncating it.
    static func create(path: String) throws -> FileOutput {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw NumPyFormatError(file: path, message: "cannot create: \(systemErrorMessage())")
        }
        return FileOutput(fd: fd, name: path)
    }

    /// Writes all of `bytes`, however many calls the kernel needs (it caps single writes
    /// near 2 GiB).
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw NumPyFormatError(
                    file: name, offset: position + done, message: "write failed: \(systemErrorMessage())")
            }
            done += n
        }
        position += done
    }

    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written, without moving the sequential position.
    func patch(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw NumPyFormatError(
                        file: name, offset: offset + done,
                        message: "cannot update a header already written (the output must be a seekable file): "
                            + systemErrorMessage())
                }
                done += n
            }
        }
    }

    func close() throws {
        if Glibc.close(fd) != 0 {
            throw NumPyFormatError(file: name, message: "close failed: \(systemErrorMessage())")
        }
    }
}
