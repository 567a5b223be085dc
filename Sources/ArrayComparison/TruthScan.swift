/// The running state of judging one side against the truth: the figures `judgeSide`
/// reports, gathered run by run.
///
/// The errors of a block are computed first, in a loop without branches that the
/// compiler vectorizes (one subtraction, one multiply-add, one division per element),
/// then tallied. Tallying from a buffer keeps the division's latency out of the
/// histogram's and the top-K list's dependency chain. A block with any non-finite
/// error (a NaN or an infinity on either side, a NaN scale) is judged again element by
/// element by `roundingError`'s rules, so the figures are exactly the rules' figures.
struct TruthScan {
    static let blockSize = 256

    let unitRoundoff: Double
    /// The format's least nonzero magnitude: it keeps every allowance above zero.
    let subnormalStep: Double
    let limit: Double
    var allEqual = true
    var worst: WorstElements
    var beyondLimit = 0
    var nonFinite = 0
    /// The histogram's counters, in caller-owned memory (`HistogramCounter.bucketCount`
    /// of them, zeroed): an array held in this value would be checked for uniqueness on
    /// every increment.
    let buckets: UnsafeMutableBufferPointer<Int>
    /// One block's errors.
    let errors: UnsafeMutableBufferPointer<Double>

    init(format: FloatFormat, limit: Double, topK: Int, buckets: UnsafeMutableBufferPointer<Int>,
         errors: UnsafeMutableBufferPointer<Double>) {
        unitRoundoff = format.unitRoundoff
        subnormalStep = format.leastNonzeroMagnitude
        self.limit = limit
        worst = WorstElements(capacity: max(topK, 1))
        self.buckets = buckets
        self.errors = errors
    }

    /// The counts as the report's histogram.
    var histogram: HistogramCounter {
        var histogram = HistogramCounter()
        histogram.add(buckets: UnsafeBufferPointer(buckets), nonFinite: nonFinite)
        histogram.beyondLimit = beyondLimit
        return histogram
    }

    /// Runs `body` on a scan whose scratch memory lives for the call.
    static func withScan<R>(format: FloatFormat, limit: Double, topK: Int, _ body: (inout TruthScan) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: HistogramCounter.bucketCount) { buckets in
            buckets.initialize(repeating: 0)
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: blockSize) { errors in
                var scan = TruthScan(format: format, limit: limit, topK: topK, buckets: buckets, errors: errors)
                return body(&scan)
            }
        }
    }

    /// Judges `range`, returning its largest error. `eachBlock(start, errors, count)`
    /// sees every block's errors, for figures finer than the range's.
    mutating func scan(
        _ range: Range<Int>, values v: UnsafeBufferPointer<Double>, truth t: UnsafeBufferPointer<Double>,
        scale s: UnsafeBufferPointer<Double>,
        eachBlock: (_ start: Int, _ errors: UnsafeMutableBufferPointer<Double>, _ count: Int) -> Void = { _, _, _ in }
    ) -> Double {
        var largest = 0.0
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.blockSize) {
            let count = min(Self.blockSize, range.upperBound - start)
            let (equal, finite) = blockErrors(start: start, count: count, values: v, truth: t, scale: s, into: errors)
            if finite {
                allEqual = allEqual && equal == count
            } else {
                for j in 0 ..< count {
                    let i = start + j
                    errors[j] = roundingError(value: v[i], truth: t[i], scale: s[i], unitRoundoff: unitRoundoff,
                                              subnormalStep: subnormalStep)
                    allEqual = allEqual && equalsTruth(v[i], t[i])
                }
            }
            largest = max(largest, tally(errors, count: count, firstIndex: start))
            eachBlock(start, errors, count)
        }
        return largest
    }

    /// The block's errors over a nonzero allowance, how many values equal the truth,
    /// and whether every error is finite (then each one is `roundingError`'s: equal
    /// values give 0, and the allowance is never zero).
    @inline(__always)
    private func blockErrors(
        start: Int, count: Int, values v: UnsafeBufferPointer<Double>, truth t: UnsafeBufferPointer<Double>,
        scale s: UnsafeBufferPointer<Double>, into errors: UnsafeMutableBufferPointer<Double>
    ) -> (equal: Int, finite: Bool) {
        typealias Lanes = SIMD4<Double>
        let u = Lanes(repeating: unitRoundoff), step = Lanes(repeating: subnormalStep)
        var equalLanes = SIMD4<Int64>(), nonFiniteLanes = SIMD4<Int64>()
        // Explicit lanes: the comparisons then give masks, not branches on values that
        // are equal or not at random.
        var j = 0
        while j + Lanes.scalarCount <= count {
            let i = start + j
            let value = Self.lanes(v, at: i), exact = Self.lanes(t, at: i), scale = Self.lanes(s, at: i)
            let difference = Self.magnitude(value - exact)
            let allowance = u * Self.magnitude(scale) + step
            let error = difference / allowance
            for lane in 0 ..< Lanes.scalarCount { errors[j + lane] = error[lane] }
            equalLanes &+= SIMD4<Int64>(repeating: 0).replacing(with: 1, where: value .== exact)
            // A NaN fails the comparison too.
            nonFiniteLanes &+= SIMD4<Int64>(repeating: 1).replacing(with: 0, where: error .< .infinity)
            j += Lanes.scalarCount
        }
        var equal = Int(equalLanes.wrappedSum()), nonFinite = Int(nonFiniteLanes.wrappedSum())
        while j < count {
            let i = start + j
            let error = (v[i] - t[i]).magnitude / (unitRoundoff * s[i].magnitude + subnormalStep)
            errors[j] = error
            equal &+= v[i] == t[i] ? 1 : 0
            nonFinite &+= error < .infinity ? 0 : 1
            j += 1
        }
        return (equal, nonFinite == 0)
    }

    /// |x| lane by lane, by clearing the sign bits (so -0 becomes +0, as `magnitude` does).
    @inline(__always)
    private static func magnitude(_ x: SIMD4<Double>) -> SIMD4<Double> {
        let bits = unsafeBitCast(x, to: SIMD4<UInt64>.self) & SIMD4(repeating: ~(1 << 63))
        return unsafeBitCast(bits, to: SIMD4<Double>.self)
    }

    @inline(__always)
    private static func lanes(_ values: UnsafeBufferPointer<Double>, at index: Int) -> SIMD4<Double> {
        UnsafeRawPointer(values.baseAddress! + index).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Adds a block of errors to the histogram, the count beyond the limit and the
    /// top-K list; returns the block's largest.
    @inline(__always)
    private mutating func tally(_ errors: UnsafeMutableBufferPointer<Double>, count: Int, firstIndex: Int) -> Double {
        var largest = 0.0
        var beyond = 0, nonFinite = 0
        for j in 0 ..< count {
            let error = errors[j]
            largest = max(largest, error)
            if error.isFinite {
                buckets[HistogramCounter.bucket(error: error)] &+= 1
            } else {
                nonFinite &+= 1
            }
            beyond &+= error > limit ? 1 : 0
            if error > 0 { worst.offer(RankedElement(primary: error, secondary: 0, flatIndex: firstIndex + j)) }
        }
        beyondLimit += beyond
        self.nonFinite += nonFinite
        return largest
    }
}
