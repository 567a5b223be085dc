#if canImport(Glibc)
import Glibc
#endif
import NumPyFormat

/// An output file that appears complete or not at all.
///
/// Data goes to a temporary file in the destination's folder (so the final rename stays
/// on one file system and is atomic), which is flushed to disk and renamed over the
/// destination only after the last byte is written. On any error the temporary file is
/// removed and an existing destination is left untouched; SIGINT and SIGTERM remove it
/// too, and SIGXFSZ (a `ulimit -f` limit) is turned into an ordinary write error. Two
/// runs racing for one destination each rename a complete file, so the loser's is
/// replaced whole, never mixed.
final class AtomicOutput {
    let destination: String
    let temporaryPath: String
    let descriptor: Int32
    private var committed = false

    init(destination: String) throws {
        self.destination = destination
        let folder = destination.lastIndex(of: "/").map { String(destination[...$0]) } ?? ""
        let base = destination.split(separator: "/").last.map(String.init) ?? destination
        var template = Array("\(folder).\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ToolError("\(destination): cannot create a temporary file beside it: \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Readable like an ordinary new file, not mkstemp's 0600.
        let mask = umask(0); umask(mask)
        fchmod(fd, 0o666 & ~mask)
        SignalCleanup.register(temporaryPath)
    }

    /// Flushes and renames into place.
    func commit() throws {
        guard fsync(descriptor) == 0 || errno == EINVAL else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw ToolError("\(destination): cannot flush to disk: \(reason)")
        }
        close(descriptor)
        guard rename(temporaryPath, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            SignalCleanup.unregister(temporaryPath)
            throw ToolError("\(destination): cannot rename the finished file into place: \(reason)")
        }
        SignalCleanup.unregister(temporaryPath)
        committed = true
    }

    /// Removes the temporary file; the destination is untouched.
    func abandon() {
        guard !committed else { return }
        close(descriptor)
        unlink(temporaryPath)
        SignalCleanup.unregister(temporaryPath)
        committed = true
    }

    deinit { abandon() }
}

/// The temporary files to remove if the process is interrupted.
///
/// A signal handler may only call async-signal-safe functions, so the paths are kept
/// as C strings in a fixed table that the handler reads without locks or allocation.
enum SignalCleanup {
    static let slots = 64
    static let pathLength = 4096
    nonisolated(unsafe) static let table: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * pathLength)
        p.initialize(repeating: 0, count: slots * pathLength)
        return p
    }()
    nonisolated(unsafe) static var lock = pthread_mutex_t()
    nonisolated(unsafe) static var installed = false

    static func register(_ path: String) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        installHandlers()
        let bytes = Array(path.utf8)
        guard bytes.count < pathLength else { return }
        for slot in 0 ..< slots where table[slot * pathLength] == 0 {
            let start = table + slot * pathLength
            for (i, b) in bytes.enumerated() { start[i] = CChar(bitPattern: b) }
            start[bytes.count] = 0
            return
        }
    }

    static func unregister(_ path: String) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for slot in 0 ..< slots where table[slot * pathLength] != 0 {
            let start = table + slot * pathLength
            if String(cString: start) == path { start[0] = 0 }
        }
    }

    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        signal(SIGXFSZ, SIG_IGN)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in
                for slot in 0 ..< SignalCleanup.slots {
                    let start = SignalCleanup.table + slot * SignalCleanup.pathLength
                    if start[0] != 0 { unlink(start) }
                }
                // Die of the same signal, so the parent (make, a shell) sees why.
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }
}
