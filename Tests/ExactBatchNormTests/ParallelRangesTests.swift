import Dispatch
import Glibc
import Synchronization
import Testing

@testable import ExactBatchNorm

/// The engine's parallel steps (``parallelRanges(count:threads:_:)`` over the spinning
/// worker pool, or Dispatch when the pool is busy): every item once, results in order,
/// whoever runs them.
@Suite struct ParallelRangesTests {
    /// The ranges in order, covering `0..<count` exactly.
    static func covers(_ ranges: [Range<Int>], _ count: Int) -> Bool {
        ranges.reduce(0) { next, range in next == range.lowerBound ? range.upperBound : -1 } == count
    }

    @Test func rangesCoverEveryItemOnceInOrder() {
        for threads in [1, 2, 3, 8] {
            for count in [0, 1, 2, 7, 1000] {
                let ranges = parallelRanges(count: count, threads: threads) { $0 }
                #expect(ranges.count == max(1, min(threads, count)))
                #expect(Self.covers(ranges, count), "count \(count), threads \(threads)")
            }
        }
    }

    /// Several pieces a thread: up to `threads * pieces` ranges, still in order and
    /// covering every item once, however the threads happen to take them; one thread
    /// takes everything in one range.
    @Test func piecesPerThreadCoverEveryItemOnceInOrder() {
        for threads in [1, 2, 3] {
            for pieces in [1, 4] {
                for count in [0, 1, 5, 8, 9, 1000] {
                    let ranges = parallelRanges(count: count, threads: threads, piecesPerThread: pieces) { $0 }
                    let expected = threads == 1 ? 1 : max(1, min(threads * pieces, count))
                    #expect(ranges.count == expected, "count \(count), threads \(threads), pieces \(pieces)")
                    #expect(Self.covers(ranges, count), "count \(count), threads \(threads), pieces \(pieces)")
                }
            }
        }
    }

    /// Every part runs once, on the pool; a job started from inside a job finds the pool
    /// busy and runs nothing, so the caller goes to Dispatch, with the same results.
    /// (The parts record through `Locked`, whose pthread mutex ThreadSanitizer sees;
    /// under `Mutex`, whose futex it does not, it once reported the appends as a race.)
    /// (Other suites' computations may hold the pool for a while: the job is tried until
    /// it gets it.)
    @Test(.enabled(if: ExactBatchNorm.defaultThreadCount > 1, "the pool has no workers on one processor"))
    func aNestedJobFindsThePoolBusy() {
        let ran = Locked<[Int]>([])
        let nestedRan = Locked<[Bool]>([])
        var pooled = false
        // Up to a minute, a tenth of a millisecond between tries.
        for attempt in 0..<600_000 where !pooled {
            if attempt > 0 { usleep(100) }
            pooled = WorkerPool.run(parts: 4) { part in
                let nested = WorkerPool.run(parts: 2) { _ in }
                nestedRan.withLock { $0.append(nested) }
                ran.withLock { $0.append(part) }
            }
        }
        #expect(pooled)
        #expect(ran.withLock { $0.sorted() } == [0, 1, 2, 3])
        #expect(nestedRan.withLock { $0 } == [false, false, false, false])
        let nested = parallelRanges(count: 4, threads: 2) { outer in
            parallelRanges(count: 100, threads: 3) { $0 }.map(\.count).reduce(0, +) + outer.count
        }
        #expect(nested == [102, 102])
    }

    /// Many callers at once: one has the pool, the others Dispatch; every answer is right.
    @Test func concurrentCallersAllGetTheirResults() {
        let wrong = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { caller in
            for round in 0..<200 {
                let count = 50 + caller * 7 + round
                let sums = parallelRanges(count: count, threads: 2) { range in range.reduce(0, +) }
                if sums.reduce(0, +) != count * (count - 1) / 2 { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
    }
}
