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
    let unitRoundoff: Double
    /// The format's least nonzero magnitude: it keeps every allowance above zero.
    let subnormalStep: Double
    let limit: Double
    let split: ChannelSplit
    var allEqual = true
    var maxError = 0.0
    var worst: WorstElements
    var beyondLimit = 0
    var nonFinite = 0
    /// The histogram's counters (`HistogramCounter.bucketCount` of them).
    let buckets: Counters<Int>
    /// The largest error in each channel of the split; none without an axis.
    let channelMax: Counters<Double>

    init(format: FloatFormat, limit: Double, topK: Int, split: ChannelSplit) {
        unitRoundoff = format.unitRoundoff
        subnormalStep = format.leastNonzeroMagnitude
        self.limit = limit
        self.split = split
        worst = WorstElements(capacity: max(topK, 1))
        buckets = Counters(count: HistogramCounter.bucketCount, zero: 0)
        channelMax = Counters(count: split.breakdownCount, zero: 0)
    }

    /// The counts as the report's histogram.
    var histogram: HistogramCounter {
        var histogram = HistogramCounter()
        histogram.add(buckets: UnsafeBufferPointer(start: buckets.pointer, count: buckets.count), nonFinite: nonFinite)
        histogram.beyondLimit = beyondLimit
        return histogram
    }

    /// Judges the block of flat positions `start ..< start + count` (at most
    /// `KeyScan.blockSize`), whose values, truths and scales are `values[0 ..< count]`,
    /// `truth[...]` and `scale[...]`; `errors` is scratch for as many.
    mutating func add(start: Int, count: Int, values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
                      scale s: UnsafePointer<Double>, errors: UnsafeMutablePointer<Double>) {
        let (equal, finite) = blockErrors(count: count, values: v, truth: t, scale: s, into: errors)
        if finite {
            allEqual = allEqual && equal == count
        } else {
            for j in 0 ..< count {
                errors[j] = roundingError(value: v[j], truth: t[j], scale: s[j], unitRoundoff: unitRoundoff,
                                          subnormalStep: subnormalStep)
                allEqual = allEqual && equalsTruth(v[j], t[j])
            }
        }
        let largest = tally(errors, count: count, start: start, values: v, truth: t, scale: s)
        maxError = max(maxError, largest)
        guard split.axis != nil else { return }
        let channelMax = channelMax.pointer
        split.forEachRun(in: start ..< start + count) { c, lower, upper in
            if upper - lower == count {
                channelMax[c] = max(channelMax[c], largest)
                return
            }
            var runLargest = 0.0
            for j in (lower - start) ..< (upper - start) { runLargest = max(runLargest, errors[j]) }
            channelMax[c] = max(channelMax[c], runLargest)
        }
    }

    /// Adds the judgement of other blocks of the same side.
    mutating func merge(_ other: TruthScan) {
        allEqual = allEqual && other.allEqual
        maxError = max(maxError, other.maxError)
        worst.merge(other.worst)
        beyondLimit += other.beyondLimit
        nonFinite += other.nonFinite
        for j in 0 ..< buckets.count { buckets.pointer[j] += other.buckets.pointer[j] }
        for c in 0 ..< channelMax.count { channelMax.pointer[c] = max(channelMax.pointer[c], other.channelMax.pointer[c]) }
    }

    /// The block's errors over a nonzero allowance, how many values equal the truth,
    /// and whether every error is finite (then each one is `roundingError`'s: equal
    /// values give 0, and the allowance is never zero).
    @inline(__always)
    private func blockErrors(
        count: Int, values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
        scale s: UnsafePointer<Double>, into errors: UnsafeMutablePointer<Double>
    ) -> (equal: Int, finite: Bool) {
        typealias Lanes = SIMD4<Double>
        let u = Lanes(repeating: unitRoundoff), step = Lanes(repeating: subnormalStep)
        var equalLanes = SIMD4<Int64>(), nonFiniteLanes = SIMD4<Int64>()
        // Explicit lanes: the comparisons then give masks, not branches on values that
        // are equal or not at random.
        var j = 0
        while j + Lanes.scalarCount <= count {
            let i = j
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
            let i = j
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
    private static func lanes(_ values: UnsafePointer<Double>, at index: Int) -> SIMD4<Double> {
        UnsafeRawPointer(values + index).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Adds a block of errors to the histogram, the count beyond the limit and the
    /// top-K list; returns the block's largest.
    @inline(__always)
    private mutating func tally(_ errors: UnsafeMutablePointer<Double>, count: Int, start: Int,
                                values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
                                scale s: UnsafePointer<Double>) -> Double {
        var largest = 0.0
        var beyond = 0, nonFinite = 0
        let buckets = buckets.pointer
        for j in 0 ..< count {
            let error = errors[j]
            largest = max(largest, error)
            if error.isFinite {
                buckets[HistogramCounter.bucket(error: error)] &+= 1
            } else {
                nonFinite &+= 1
            }
            beyond &+= error > limit ? 1 : 0
            if error > 0 && worst.mightAccept(primary: error) {
                worst.offer(RankedElement(primary: error, secondary: 0, flatIndex: start + j,
                                          values: ElementValues(a: v[j], b: .nan, truthA: t[j], scale: s[j])))
            }
        }
        beyondLimit += beyond
        self.nonFinite += nonFinite
        return largest
    }
}
