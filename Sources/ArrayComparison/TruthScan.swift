/// The running state of judging one side against the truth: the figures a
/// `SideJudgement` reports, gathered block by block (in any order; scans of disjoint
/// parts merge exactly, `merge`).
///
/// A block whose values all equal their truth adds only to the histogram. Otherwise its
/// errors are computed first, in lanes of four without branches (one subtraction, one
/// multiply-add, one division per element, with each error's bucket and the largest),
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
    let buckets = BucketCounts()
    /// The largest error in each channel of the split; none without an axis.
    let channelMax: Counters<Double>

    init(format: FloatFormat, limit: Double, topK: Int, split: ChannelSplit) {
        unitRoundoff = format.unitRoundoff
        subnormalStep = format.leastNonzeroMagnitude
        self.limit = limit
        self.split = split
        worst = WorstElements(capacity: max(topK, 1))
        channelMax = Counters(count: split.breakdownCount, zero: 0)
    }

    /// The counts as the report's histogram.
    var histogram: HistogramCounter { buckets.histogram(nonFinite: nonFinite, beyondLimit: beyondLimit) }

    /// Judges the block of flat positions `start ..< start + count` (at most
    /// `KeyScan.blockSize`), whose values, truths and scales are `values[0 ..< count]`,
    /// `truth[...]` and `scale[...]`; `errors` is scratch for as many.
    mutating func add(
        start: Int, count: Int, values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
        scale s: UnsafePointer<Double>, errors: UnsafeMutablePointer<Double>,
        buckets indices: UnsafeMutablePointer<Int>
    ) {
        if limit >= 0 && Self.allEqual(count, v, t) {
            // Every value is its truth (a correctly rounded side): every error is 0
            // whatever the scale, and only the histogram counts.
            buckets.add(bucket: 0, count: count)
            return
        }
        let block = blockErrors(count: count, values: v, truth: t, scale: s, into: errors, indices: indices)
        let largest: Double
        if block.finite && block.equal == count && limit >= 0 {
            // Every value is its truth: every error is 0, and only the histogram counts.
            buckets.add(bucket: 0, count: count)
            return
        } else if block.finite {
            allEqual = false
            largest = block.largest
            beyondLimit += block.beyond
            tallyFinite(
                errors, count: count, start: start, values: v, truth: t, scale: s, indices: indices,
                largest: largest)
        } else {
            for j in 0..<count {
                errors[j] = roundingError(
                    value: v[j], truth: t[j], scale: s[j], unitRoundoff: unitRoundoff,
                    subnormalStep: subnormalStep)
                allEqual = allEqual && equalsTruth(v[j], t[j])
            }
            largest = tally(errors, count: count, start: start, values: v, truth: t, scale: s)
        }
        maxError = max(maxError, largest)
        guard split.axis != nil else { return }
        let channelMax = channelMax.pointer
        split.forEachRun(in: start..<start + count) { c, lower, upper in
            if upper - lower == count {
                channelMax[c] = max(channelMax[c], largest)
                return
            }
            var runLargest = 0.0
            for j in (lower - start)..<(upper - start) { runLargest = max(runLargest, errors[j]) }
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
        buckets.add(other.buckets)
        for c in 0..<channelMax.count {
            channelMax.pointer[c] = max(channelMax.pointer[c], other.channelMax.pointer[c])
        }
    }

    /// Whether every value equals its truth by IEEE equality (so +0 == -0; a NaN never
    /// does, and takes the rules' way), lanes compared without a branch per value.
    @inline(__always)
    private static func allEqual(_ count: Int, _ v: UnsafePointer<Double>, _ t: UnsafePointer<Double>) -> Bool {
        var unequal = SIMD4<Int64>()
        var j = 0
        while j < count {
            unequal &+= (loadLanes(v, j, count) .!= loadLanes(t, j, count)).ones
            if j == 0 && unequal != SIMD4<Int64>() { return false }
            j += 4
        }
        return unequal == SIMD4<Int64>()
    }

    /// The block's errors over a nonzero allowance, how many values equal the truth,
    /// and whether every error is finite (then each one is `roundingError`'s: equal
    /// values give 0, and the allowance is never zero). In the same lanes, for a finite
    /// block: each error's histogram bucket (into `indices`), the largest error and the
    /// count beyond the limit.
    @inline(__always)
    private func blockErrors(
        count: Int, values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
        scale s: UnsafePointer<Double>, into errors: UnsafeMutablePointer<Double>, indices: UnsafeMutablePointer<Int>
    ) -> (equal: Int, finite: Bool, largest: Double, beyond: Int) {
        let u = Lanes(repeating: unitRoundoff), step = Lanes(repeating: subnormalStep), bound = Lanes(repeating: limit)
        var equalLanes = SIMD4<Int64>(), nonFiniteLanes = SIMD4<Int64>(), beyondLanes = SIMD4<Int64>()
        var largestLanes = Lanes()
        // Explicit lanes: the comparisons then give masks, not branches on values that
        // are equal or not at random.
        var j = 0
        while j + Lanes.scalarCount <= count {
            let value = loadLanes(v, j, count), exact = loadLanes(t, j, count), scale = loadLanes(s, j, count)
            let difference = laneMagnitude(value - exact)
            let allowance = u * laneMagnitude(scale) + step
            let error = difference / allowance
            storeLanes(error, errors, j, count)
            equalLanes &+= (value .== exact).ones
            // A NaN fails the comparison too.
            nonFiniteLanes &+= (.!(error .< .infinity)).ones
            beyondLanes &+= (error .> bound).ones
            largestLanes = laneMax(largestLanes, error)
            storeLanes(SIMD4<Int>(truncatingIfNeeded: HistogramCounter.buckets(errors: error)), indices, j, count)
            j += Lanes.scalarCount
        }
        var equal = Int(equalLanes.wrappedSum()), nonFinite = Int(nonFiniteLanes.wrappedSum())
        var beyond = Int(beyondLanes.wrappedSum()), largest = largestLanes.max()
        while j < count {
            let error = (v[j] - t[j]).magnitude / (unitRoundoff * s[j].magnitude + subnormalStep)
            errors[j] = error
            equal &+= v[j] == t[j] ? 1 : 0
            nonFinite &+= error < .infinity ? 0 : 1
            beyond &+= error > limit ? 1 : 0
            largest = max(largest, error)
            indices[j] = error < .infinity ? HistogramCounter.bucket(error: error) : 0
            j += 1
        }
        return (equal, nonFinite == 0, largest, beyond)
    }

    /// Adds a block of errors to the histogram, the count beyond the limit and the
    /// top-K list; returns the block's largest. Any errors: NaN and infinities are off
    /// the histogram's scale, and a NaN is never the largest.
    private mutating func tally(
        _ errors: UnsafeMutablePointer<Double>, count: Int, start: Int,
        values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
        scale s: UnsafePointer<Double>
    ) -> Double {
        var largest = 0.0
        var beyond = 0, nonFinite = 0
        for j in 0..<count {
            let error = errors[j]
            largest = max(largest, error)
            if error.isFinite {
                buckets.add(bucket: HistogramCounter.bucket(error: error), element: j)
            } else {
                nonFinite &+= 1
            }
            beyond &+= error > limit ? 1 : 0
            if error > 0 && worst.mightAccept(primary: error) { offer(error, start, j, v, t, s) }
        }
        beyondLimit += beyond
        self.nonFinite += nonFinite
        return largest
    }

    /// `tally` for a block of finite errors whose buckets and largest `blockErrors` found:
    /// the counts, and the worst elements looked for only when the block's largest could
    /// enter their list. The same figures, with no branch on each error's value.
    @inline(__always)
    private mutating func tallyFinite(
        _ errors: UnsafeMutablePointer<Double>, count: Int, start: Int,
        values v: UnsafePointer<Double>, truth t: UnsafePointer<Double>,
        scale s: UnsafePointer<Double>, indices: UnsafeMutablePointer<Int>,
        largest: Double
    ) {
        for j in 0..<count { buckets.add(bucket: indices[j], element: j) }
        guard largest > 0 && worst.mightAccept(primary: largest) else { return }
        for j in 0..<count where errors[j] > 0 && worst.mightAccept(primary: errors[j]) {
            offer(errors[j], start, j, v, t, s)
        }
    }

    @inline(__always)
    private mutating func offer(
        _ error: Double, _ start: Int, _ j: Int, _ v: UnsafePointer<Double>,
        _ t: UnsafePointer<Double>, _ s: UnsafePointer<Double>
    ) {
        worst.offer(
            RankedElement(
                primary: error, secondary: 0, flatIndex: start + j,
                values: ElementValues(a: v[j], b: .nan, truthA: t[j], scale: s[j])))
    }
}
