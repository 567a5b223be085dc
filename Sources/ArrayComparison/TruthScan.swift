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
    var histogram = HistogramCounter()
    var worst: WorstElements

    init(format: FloatFormat, limit: Double, topK: Int) {
        unitRoundoff = format.unitRoundoff
        subnormalStep = format.leastNonzeroMagnitude
        self.limit = limit
        worst = WorstElements(capacity: max(topK, 1))
    }

    /// Judges `range`, returning its largest error.
    mutating func scan(
        _ range: Range<Int>, values v: UnsafeBufferPointer<Double>, truth t: UnsafeBufferPointer<Double>,
        scale s: UnsafeBufferPointer<Double>, errors: UnsafeMutableBufferPointer<Double>
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
        var equal = 0, nonFinite = 0
        for j in 0 ..< count {
            let i = start + j
            let error = (v[i] - t[i]).magnitude / (unitRoundoff * s[i].magnitude + subnormalStep)
            errors[j] = error
            equal &+= v[i] == t[i] ? 1 : 0
            nonFinite &+= error < .infinity ? 0 : 1  // NaN fails the comparison too
        }
        return (equal, nonFinite == 0)
    }

    /// Adds a block of errors to the histogram, the count beyond the limit and the
    /// top-K list; returns the block's largest.
    @inline(__always)
    private mutating func tally(_ errors: UnsafeMutableBufferPointer<Double>, count: Int, firstIndex: Int) -> Double {
        var largest = 0.0
        var beyond = 0
        for j in 0 ..< count {
            let error = errors[j]
            largest = max(largest, error)
            histogram.add(error: error)
            beyond &+= error > limit ? 1 : 0
            if error > 0 { worst.offer(RankedElement(primary: error, secondary: 0, flatIndex: firstIndex + j)) }
        }
        histogram.beyondLimit += beyond
        return largest
    }
}
