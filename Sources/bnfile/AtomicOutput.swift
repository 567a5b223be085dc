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

    /// Creates the temporary file `.<name>.tmp-<random>` beside `destination`.
    ///
    /// The name is registered for signal cleanup *before* the file is created (with
    /// O_EXCL, retrying on a clash), not after: a signal arriving between creation and
    /// registration, on any thread, would otherwise leave the file behind. Registering a
    /// name that does not exist yet costs the handler only a failed unlink. Creating
    /// with mode 0666 lets the umask decide the permissions, as for any new file.
    init(destination: String) throws {
        self.destination = destination
        let folder = destination.lastIndex(of: "/").map { String(destination[...$0]) } ?? ""
        let base = destination.split(separator: "/").last.map(String.init) ?? destination
        var attempts = 0
        while true {
            let candidate = "\(folder).\(base).tmp-\(Self.randomSuffix())"
            SignalCleanup.register(candidate)
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 {
                descriptor = fd
                temporaryPath = candidate
                return
            }
            let reason = errno
            SignalCleanup.unregister(candidate)
            attempts += 1
            guard reason == EEXIST && attempts < 100 else {
                throw ToolError(
                    "\(destination): cannot create a temporary file beside it: \(String(cString: strerror(reason)))")
            }
        }
    }

    /// Twelve random letters and digits (71 bits): clashes with another run's file are
    /// rare enough that the retry above is only a formality.
    private static func randomSuffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
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
/// A slot's first byte is its "in use" mark and is written last on registration (and
/// cleared first on removal), so the handler never sees a half-written path: otherwise
/// it could unlink a name made of a new path's first byte and an old path's rest.
enum SignalCleanup {
    static let slots = 64
    static let pathLength = 4096
    /// Signals that end the process by default and that a user or supervisor sends to
    /// stop a run: each removes the temporary files, then kills the process as before.
    static let fatalSignals = [SIGINT, SIGTERM, SIGHUP, SIGPIPE]

    nonisolated(unsafe) private static let table: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * pathLength)
        p.initialize(repeating: 0, count: slots * pathLength)
        return p
    }()
    /// Heap-allocated so that pthread gets one stable address (a Swift global passed
    /// inout is not guaranteed one).
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()
    nonisolated(unsafe) private static var installed = false

    static func register(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        installHandlers()
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < pathLength else { return }
        for slot in 0 ..< slots where table[slot * pathLength] == 0 {
            let start = table + slot * pathLength
            for (i, b) in bytes.enumerated().dropFirst() { start[i] = CChar(bitPattern: b) }
            start[bytes.count] = 0
            start[0] = CChar(bitPattern: bytes[0])
            return
        }
    }

    static func unregister(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for slot in 0 ..< slots where table[slot * pathLength] != 0 {
            let start = table + slot * pathLength
            if String(cString: start) == path { start[0] = 0 }
        }
    }

    /// Installs the cleanup handlers once. A signal the process was started with
    /// ignored (`nohup`, a background job of a non-interactive shell) stays ignored:
    /// catching it would make the run killable where its parent meant it not to be.
    /// SIGXFSZ (a `ulimit -f` limit) is ignored so that writing past the limit fails
    /// with EFBIG, an ordinary error that removes the temporary file, instead of
    /// killing the process with the partial file left behind.
    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        _ = table  // initialised before any handler can read it
        signal(SIGXFSZ, SIG_IGN)
        for sig in fatalSignals {
            var previous = sigaction()
            guard sigaction(sig, nil, &previous) == 0,
                  unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self)
                    != unsafeBitCast(SIG_IGN, to: Int.self)
            else { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                for slot in 0 ..< SignalCleanup.slots {
                    let start = SignalCleanup.table + slot * SignalCleanup.pathLength
                    if start[0] != 0 { unlink(start) }
                }
                // Die of the same signal, so the parent (make, a shell) sees why.
                signal(received, SIG_DFL)
                raise(received)
            }
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }
}
