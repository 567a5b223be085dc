import CWorkerPool
import Dispatch

/// A pointer that may cross into the worker threads of `concurrentPerform`. The engine
/// only reads inputs there and writes disjoint ranges of outputs, so no two threads
/// touch the same element.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Splits `count` work items into at most `threads * piecesPerThread` contiguous ranges
/// and runs them in parallel. Results land in range order, so merging them is
/// deterministic; the engine's merges are exact anyway, so even the split itself cannot
/// change the bits.
///
/// With more than one piece per thread, a thread that finishes a range takes the next
/// one left, so a thread that starts late or runs slow (a virtual processor the
/// hypervisor pauses) holds up the step by a piece, not by half the work. Callers whose
/// pieces are cheap to merge ask for several; those that merge whole partial sums per
/// piece keep one.
///
/// The ranges go to the spinning worker pool (CWorkerPool), whose threads are still
/// awake from the computation's previous step, since a step of a small layer lasts
/// less than a kernel wakeup; when the pool is busy (another computation at the same
/// time, or a nested call), to Dispatch instead. One range runs on the calling thread.
func parallelRanges<R: Sendable>(
    count: Int, threads: Int, piecesPerThread: Int = 1, _ body: @Sendable (Range<Int>) -> R
) -> [R] {
    let parts = threads <= 1 ? 1 : max(1, min(threads * piecesPerThread, count))
    if parts == 1 { return [body(0..<count)] }
    let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: parts)
    results.initialize(repeating: nil)
    defer {
        results.deinitialize()
        results.deallocate()
    }
    let shared = SharedPointer(results.baseAddress!)
    @Sendable func run(_ part: Int) {
        let lower = count * part / parts
        let upper = count * (part + 1) / parts
        shared.base[part] = body(lower..<upper)
    }
    if !WorkerPool.run(parts: parts, run) {
        DispatchQueue.concurrentPerform(iterations: parts) { run($0) }
    }
    return results.map { $0! }
}

/// The spinning worker pool of CWorkerPool.
enum WorkerPool {
    /// Runs `part` for every part in `0..<parts` on the calling thread and the pool's
    /// workers; returns false at once, having run nothing, when the pool is already
    /// running a job (a nested or concurrent call), or has no workers.
    static func run(parts: Int, _ part: (Int) -> Void) -> Bool {
        withoutActuallyEscaping(part) { part in
            let job = Job(part)
            return withExtendedLifetime(job) {
                bn_workers_run(parts, { context, index in
                    Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue().part(index)
                }, Unmanaged.passUnretained(job).toOpaque()) != 0
            }
        }
    }

    /// The closure, by reference, as the C side's context.
    private final class Job {
        let part: (Int) -> Void
        init(_ part: @escaping (Int) -> Void) { self.part = part }
    }
}
