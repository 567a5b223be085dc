import Glibc
import Synchronization

/// Turns SIGBUS on a memory-mapped input into a one-line error.
///
/// Inputs are mapped, not read (`MappedFile`). If another process truncates a file while
/// it is mapped, touching a page past the new end raises SIGBUS, and by default the
/// process dies with a crash report (status 135) in the middle of its work. With the
/// handler installed, a fault inside a registered mapping runs the caller's cleanup
/// (removing temporary files), prints `<prefix><file>: changed while being read ...`
/// on stderr and exits with status 2. A fault anywhere else is a real crash and is
/// re-raised with the default action.
///
/// Swift cannot unwind from a signal handler, so the handler ends the process; it uses
/// only async-signal-safe calls (`write`, `_exit`, `signal`, `raise`) and reads a fixed
/// table that registration fills without allocating in the handler: each slot's base
/// is written last and cleared first, so the handler never sees a half-made entry.
/// Several threads can fault on the same truncated file at once; the first to claim
/// ``reporting`` reports and exits, the others wait for that exit, so the error is one
/// line (two threads once wrote theirs into each other under ThreadSanitizer).
public enum MappingFaults {
    static let slots = 128
    static let pathLength = 4096

    /// Per slot: base address (0 when free), length, and the escaped path.
    nonisolated(unsafe) static let bases = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    nonisolated(unsafe) static let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    nonisolated(unsafe) static let paths = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * pathLength)
    nonisolated(unsafe) static let message = UnsafeMutablePointer<UInt8>.allocate(capacity: pathLength)
    nonisolated(unsafe) static var messageLength = 0
    nonisolated(unsafe) static var prefixLength = 0
    /// What follows the file's name, kept ready so the handler allocates nothing.
    static let reason = ": changed while being read (truncated by another process?); nothing was written\n"
    nonisolated(unsafe) static var cleanup: (@convention(c) () -> Void)? = nil
    /// Set by the first thread whose fault is reported (lock-free, so usable in the handler).
    static let reporting = Atomic<Bool>(false)
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        bases.initialize(repeating: 0, count: slots)
        lengths.initialize(repeating: 0, count: slots)
        return p
    }()

    /// Installs the handler: faults in mapped inputs print `prefix` and the file's name,
    /// after `cleanup` (which must itself be async-signal-safe) has run.
    public static func install(prefix: String, cleanup: @convention(c) () -> Void) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let bytes = Array(prefix.utf8.prefix(pathLength / 2))
        let tail = Array(reason.utf8)
        (bytes + tail).withUnsafeBufferPointer { message.update(from: $0.baseAddress!, count: $0.count) }
        (messageLength, prefixLength) = (bytes.count + tail.count, bytes.count)
        Self.cleanup = cleanup
        // Initialized here, never first inside the handler.
        _ = reporting.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { _, info, _ in
            MappingFaults.handle(address: Int(bitPattern: info?.pointee._sifields._sigfault.si_addr))
        }
        action.sa_flags = SA_SIGINFO
        sigemptyset(&action.sa_mask)
        sigaction(SIGBUS, &action, nil)
    }

    /// Runs inside the signal handler.
    static func handle(address: Int) {
        for slot in 0..<slots where bases[slot] != 0 {
            guard address >= bases[slot], address - bases[slot] < lengths[slot] else { continue }
            if reporting.exchange(true, ordering: .acquiringAndReleasing) {
                // Another thread is reporting; its `_exit` ends this one too.
                while true { pause() }
            }
            cleanup?()
            let path = paths + slot * pathLength
            _ = write(2, message, prefixLength)
            _ = write(2, path, strlen(path))
            _ = write(2, message + prefixLength, messageLength - prefixLength)
            _exit(2)
        }
        signal(SIGBUS, SIG_DFL)
        raise(SIGBUS)
    }

    /// Records a mapping of `path`; returns its slot, or nil when the table is full (the
    /// mapping then faults with the default crash, as before).
    static func register(base: UnsafeRawPointer, count: Int, path: String) -> Int? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let name = Array(escapingControlCharacters(path).utf8.prefix(pathLength - 1))
        for slot in 0..<slots where bases[slot] == 0 {
            let start = paths + slot * pathLength
            name.withUnsafeBufferPointer { start.update(from: $0.baseAddress!, count: name.count) }
            start[name.count] = 0
            lengths[slot] = count
            bases[slot] = Int(bitPattern: base)
            return slot
        }
        return nil
    }

    static func unregister(_ slot: Int) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        bases[slot] = 0
    }
}
