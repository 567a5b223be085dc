import ExactBatchNorm
import NumPyFormat

#if canImport(Glibc)
import Glibc
#endif

/// An output file that appears complete or not at all.
///
/// Data goes to a temporary file in the destination's folder (so the final rename stays
/// on one file system and is atomic), which is flushed to disk and renamed over the
/// destination only after the last byte is written. Where the file system allows, the
/// temporary file is unnamed (`O_TMPFILE`) until then, so no signal or crash can leave
/// it behind; elsewhere its name records this process, and later runs reclaim the
/// files of dead processes (`TemporaryFile`). On any error the temporary file is
/// removed and an existing destination is left untouched; SIGINT, SIGTERM, SIGHUP,
/// SIGPIPE and SIGQUIT remove a named one too, and SIGXFSZ (a `ulimit -f` limit) is
/// turned into an ordinary write error. Two runs racing for one destination each
/// rename a complete file, so the loser's is replaced whole, never mixed.
///
/// A symlinked destination has its target replaced (the link stays a link); an existing
/// device node or FIFO is written in place, never replaced (`OutputPlacement`).
final class AtomicOutput {
    let destination: String
    let descriptor: Int32
    /// The file renamed over at commit; nil when writing in place.
    private let target: String?
    /// The temporary file's name while it has one (always, unless unnamed).
    private var temporaryPath: String?
    private var committed = false

    init(destination: String) throws {
        self.destination = destination
        SignalCleanup.prepare()
        switch OutputPlacement.resolve(destination) {
        case .inPlace(let node):
            let fd = open(node, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ToolError("\(destination): cannot open for writing: \(String(cString: strerror(errno)))")
            }
            (descriptor, target, temporaryPath) = (fd, nil, nil)
        case .replace(let path):
            let folder = OutputPlacement.folder(of: path)
            Self.reclaimOnce(folder)
            if let fd = TemporaryFile.openUnnamed(inFolder: folder) {
                (descriptor, target, temporaryPath) = (fd, path, nil)
            } else {
                let (fd, name) = try Self.createNamed(for: path, destination: destination)
                (descriptor, target, temporaryPath) = (fd, path, name)
            }
        }
    }

    /// Creates `.<name>.tmp-<pid>-<random>` beside `path`.
    ///
    /// The name is registered for signal cleanup *before* the file is created (with
    /// O_EXCL, retrying on a clash), not after: a signal arriving between creation and
    /// registration, on any thread, would otherwise leave the file behind. Registering a
    /// name that does not exist yet costs the handler only a failed unlink. Creating
    /// with mode 0666 lets the umask decide the permissions, as for any new file.
    private static func createNamed(for path: String, destination: String) throws -> (Int32, String) {
        var attempts = 0
        while true {
            let candidate = temporaryName(for: path)
            SignalCleanup.register(candidate)
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { return (fd, candidate) }
            let reason = errno
            SignalCleanup.unregister(candidate)
            attempts += 1
            guard reason == EEXIST && attempts < 100 else {
                throw ToolError(
                    "\(destination): cannot create a temporary file beside it: \(String(cString: strerror(reason)))")
            }
        }
    }

    private static func temporaryName(for path: String) -> String {
        TemporaryFile.name(
            folder: OutputPlacement.folder(of: path), base: OutputPlacement.baseName(of: path),
            pid: getpid(), suffix: TemporaryFile.randomSuffix())
    }

    /// Folders whose dead processes' temporary files this process has already removed:
    /// one scan per folder, however many files a batch writes there.
    private static let reclaimed = Locked<Set<String>>([])

    private static func reclaimOnce(_ folder: String) {
        guard reclaimed.withLock({ $0.insert(folder).inserted }) else { return }
        TemporaryFile.reclaimAbandoned(inFolder: folder)
    }

    /// Whether `commit` flushes the file to disk: always, except when writing a device
    /// or FIFO in place. A writer may then hand its data to the device as it goes
    /// (``NPZWriteOptions/writesBehind``), so the flush waits only for the last of it.
    var flushesOnCommit: Bool { target != nil }

    /// Flushes and renames into place (for an unnamed file: names it, then renames).
    func commit() throws {
        guard let target else {
            committed = true
            guard close(descriptor) == 0 else {
                throw ToolError("\(destination): close failed: \(String(cString: strerror(errno)))")
            }
            return
        }
        guard fsync(descriptor) == 0 || errno == EINVAL else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw ToolError("\(destination): cannot flush to disk: \(reason)")
        }
        if temporaryPath == nil { try nameUnnamedFile(beside: target) }
        close(descriptor)
        let named = temporaryPath!
        guard rename(named, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(named)
            SignalCleanup.unregister(named)
            committed = true
            throw ToolError("\(destination): cannot rename the finished file into place: \(reason)")
        }
        SignalCleanup.unregister(named)
        committed = true
    }

    /// Links the complete unnamed file under a temporary name (registered for cleanup
    /// first), since `linkat` cannot replace an existing destination and `rename` can.
    private func nameUnnamedFile(beside target: String) throws {
        let name = Self.temporaryName(for: target)
        SignalCleanup.register(name)
        temporaryPath = name
        if let reason = TemporaryFile.link(descriptor, to: name) {
            abandon()
            throw ToolError(
                "\(destination): cannot link the finished file into place: \(String(cString: strerror(reason)))")
        }
    }

    /// Removes the temporary file; the destination is untouched.
    func abandon() {
        guard !committed else { return }
        close(descriptor)
        if let temporaryPath {
            unlink(temporaryPath)
            SignalCleanup.unregister(temporaryPath)
        }
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
    /// SIGQUIT is among them: the Swift runtime would otherwise catch it as a crash,
    /// print a backtrace, and let the run go on to exit 0.
    static let fatalSignals = [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT]

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

    /// Installs the handlers now, before any temporary file is named: an unnamed one
    /// never registers until it is complete, yet SIGXFSZ and SIGQUIT must be handled
    /// from the start.
    static func prepare() {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        installHandlers()
    }

    /// Unlinks every registered file; async-signal-safe, for the signal handlers (here
    /// and `MappingFaults`'s SIGBUS handler).
    static let removeFiles: @convention(c) () -> Void = {
        for slot in 0..<SignalCleanup.slots {
            let start = SignalCleanup.table + slot * SignalCleanup.pathLength
            if start[0] != 0 { unlink(start) }
        }
    }

    static func register(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        installHandlers()
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < pathLength else { return }
        for slot in 0..<slots where table[slot * pathLength] == 0 {
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
        for slot in 0..<slots where table[slot * pathLength] != 0 {
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
                SignalCleanup.removeFiles()
                // Die of the same signal, so the parent (make, a shell) sees why.
                signal(received, SIG_DFL)
                raise(received)
            }
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }
}
