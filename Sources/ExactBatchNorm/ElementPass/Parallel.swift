import Dispatch

/// A pointer that may cross into the worker threads of `concurrentPerform`. The engine
/// only reads inputs there and writes disjoint ranges of outputs, so no two threads
/// touch the same element.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Splits `count` work items into at most `threads` contiguous ranges and runs them in
/// parallel. Results land in thread order, so merging them is deterministic; the
/// engine's merges are exact anyway, so even the split itself cannot change the bits.
func parallelRanges<R: Sendable>(count: Int, threads: Int, _ body: @Sendable (Range<Int>) -> R) -> [R] {
    let parts = max(1, min(threads, count))
    let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: parts)
    results.initialize(repeating: nil)
    defer {
        results.deinitialize()
        results.deallocate()
    }
    let shared = SharedPointer(results.baseAddress!)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let lower = count * part / parts
        let upper = count * (part + 1) / parts
        shared.base[part] = body(lower..<upper)
    }
    return results.map { $0! }
}
