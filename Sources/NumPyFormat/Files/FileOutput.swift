import CSystemCalls
import Glibc

/// Sequential writes to a file descriptor, tracking the position so zip offsets can be
/// recorded and header fields patched in place afterwards.
struct FileOutput {
    let fd: Int32
    let name: String
    private(set) var position: Int
    /// Whether written data is handed to the device at once (``NPZWriteOptions/writesBehind``).
    let writesBehind: Bool
    /// Where the sequential data not yet handed to the device begins.
    private var behindFrom: Int

    /// Writes smaller than this are left to gather: a hint per header would cost more
    /// system calls than the flush it saves. Blocks of about a megabyte, as streaming
    /// writers pass them, each go at once.
    static let writeBehindMinimum = 1 << 19

    init(fd: Int32, name: String, writesBehind: Bool = false) {
        self.fd = fd
        self.name = name
        self.writesBehind = writesBehind
        // Offsets in a zip are file positions; start from wherever the descriptor is.
        let current = lseek(fd, 0, SEEK_CUR)
        position = current < 0 ? 0 : Int(current)
        behindFrom = position
    }

    /// Opens `path` for writing, creating or truncating it.
    static func create(path: String, writesBehind: Bool = false) throws -> FileOutput {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw NumPyFormatError(.system, file: path, message: "cannot create: \(systemErrorMessage())")
        }
        return FileOutput(fd: fd, name: path, writesBehind: writesBehind)
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
                    .system, file: name, offset: position + done, message: "write failed: \(systemErrorMessage())")
            }
            done += n
        }
        position += done
        if position - behindFrom >= Self.writeBehindMinimum {
            startWriteback(behindFrom..<position)
            behindFrom = position
        }
    }

    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written, without moving the sequential position.
    func patch(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Writes `bytes` at `offset`, without moving the sequential position: for headers
    /// patched afterwards, and for members whose data arrives in pieces out of order.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                let hint = errno == ESPIPE ? " (the output must be a seekable file)" : ""
                throw NumPyFormatError(
                    .system, file: name, offset: offset + done, message: "write failed: \(systemErrorMessage())" + hint)
            }
            done += n
        }
        if done >= Self.writeBehindMinimum { startWriteback(offset..<offset + done) }
    }

    /// Hands `bytes` of the file to the device now, without waiting, when writing
    /// behind; a file that cannot take the hint (a pipe, say) is left alone, silently,
    /// since the hint promises nothing.
    private func startWriteback(_ bytes: Range<Int>) {
        guard writesBehind else { return }
        _ = bn_start_writeback(fd, Int64(bytes.lowerBound), Int64(bytes.count))
    }

    /// Moves the sequential position to `offset`, past bytes written with `write(_:at:)`.
    mutating func seek(to offset: Int) throws {
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw NumPyFormatError(.system, file: name, offset: offset, message: "cannot seek: \(systemErrorMessage())")
        }
        position = offset
        behindFrom = offset
    }

    func close() throws {
        if Glibc.close(fd) != 0 {
            throw NumPyFormatError(.system, file: name, message: "close failed: \(systemErrorMessage())")
        }
    }
}
