#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a pthread mutex: the engine's caches of channels solved on demand,
/// and the tool's batch state (visible to the package's targets only).
///
/// The standard library's `Mutex` would do, but on Linux it locks with priority-
/// inheriting futexes that ThreadSanitizer cannot see, so `make sanitize` reports its
/// perfectly ordered accesses as races; a pthread mutex is understood by the sanitizer
/// and costs the same here (one lock per channel solved again, or per finished file).
package final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    package init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
