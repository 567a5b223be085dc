/// The running state of judging one side against the truth: the figures a
/// `SideJudgement` reports, gathered block by block (in any order; scans of disjoint
/// parts merge exactly, `merge`).
///
/// A block whose values all equal their truth adds only to the histogram. Otherwise its
/// errors are computed first, in a loop without branches that vectorizes (one
/// subtraction, one multiply-add, one division per element, with the count of nonzero
/// errors and the largest), from the values where they are stored, then tallied: a
/// block whose errors are all at most 1 (a correct side's usual block) fills the
/// histogram's first two buckets from that count, and only a block with larger errors
/// is bucketed element by element; the count beyond the limit is taken only when the
/// largest error exceeds it. A block with any non-finite error (a NaN or an infinity on
/// either side, a NaN scale) is judged again element by element by `roundingError`'s
/// rules, so the figures are exactly the rules' figures.
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

    /// Judges one side's block (at most `KeyScan.blockSize` elements); `errors` and
    /// `slots` are scratch for as many.
    mutating func add(
        _ side: SideBlock, errors: UnsafeMutablePointer<Double>, slots: UnsafeMutablePointer<Int32>
    ) {
        let count = side.count
        if limit >= 0 && side.allEqual() {
            // Every value is its truth (a correctly rounded side): every error is 0
            // whatever the scale, and only the histogram counts.
            buckets.add(bucket: 0, count: count)
            return
        }
        let block =
            side.width == .float32
            ? blockErrors(side, Float.self, into: errors) : blockErrors(side, Double.self, into: errors)
        let largest: Double
        if block.finite && block.allEqual && limit >= 0 {
            // Every value is its truth: every error is 0, and only the histogram counts.
            buckets.add(bucket: 0, count: count)
            return
        } else if block.finite {
            allEqual = false
            largest = block.largest
            tallyFinite(errors, side, positive: block.positive, largest: largest, slots: slots)
        } else {
            for j in 0..<count {
                let (value, truth) = (side.value(j), side.truth(j))
                errors[j] = roundingError(
                    value: value, truth: truth, scale: side.scale(j), unitRoundoff: unitRoundoff,
                    subnormalStep: subnormalStep)
                allEqual = allEqual && equalsTruth(value, truth)
            }
            largest = tally(errors, side)
        }
        maxError = max(maxError, largest)
        addChannels(errors, side, largest: largest)
    }

    /// Each channel's largest error: the block's own when it lies in one channel's run,
    /// channels last a row of channels at a time.
    @inline(__always)
    private func addChannels(_ errors: UnsafeMutablePointer<Double>, _ side: SideBlock, largest: Double) {
        guard split.axis != nil else { return }
        let (start, count) = (side.start, side.count)
        let channelMax = channelMax.pointer
        if split.inner == 1 {
            // Channels last: a row of channels at a time (a NaN error is never kept, as
            // in `max`).
            split.forEachRow(in: start..<start + count) { c, lower, upper in
                for j in 0..<(upper - lower) { channelMax[c + j] = max(channelMax[c + j], errors[lower - start + j]) }
            }
            return
        }
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

    /// The block's errors over a nonzero allowance (into `errors`), whether every value
    /// equals its truth, how many errors are above 0, the largest, and whether every
    /// error is finite (then each one is `roundingError`'s: equal values give 0, and the
    /// allowance is never zero). The largest is taken on bit patterns, which order the
    /// errors of a finite block (non-negative doubles) as their values; the flags are
    /// gathered with `|`, so that no count but the one needed is carried.
    @inline(__always)
    private func blockErrors<E: ScanElement>(
        _ side: SideBlock, _: E.Type, into errors: UnsafeMutablePointer<Double>
    ) -> (allEqual: Bool, positive: Int, finite: Bool, largest: Double) {
        let (v, t, s) = (side.values, side.truth, side.scales)
        let (u, step) = (unitRoundoff, subnormalStep)
        var unequal: UInt64 = 0, nonFinite: UInt64 = 0, positive = 0, largest: Int64 = 0
        for j in 0..<side.count {
            let value = E.load(v, j), exact = E.load(t, j), scale = Double.load(s, j)
            let error = (value - exact).magnitude / (u * scale.magnitude + step)
            errors[j] = error
            unequal |= value == exact ? 0 : 1
            positive &+= error > 0 ? 1 : 0
            // A NaN fails the comparison too.
            nonFinite |= error < .infinity ? 0 : 1
            let bits = Int64(bitPattern: error.bitPattern)
            largest = bits > largest ? bits : largest
        }
        return (unequal == 0, positive, nonFinite == 0, Double(bitPattern: UInt64(truncatingIfNeeded: largest)))
    }

    /// Adds a block of errors to the histogram, the count beyond the limit and the
    /// top-K list; returns the block's largest. Any errors: NaN and infinities are off
    /// the histogram's scale, and a NaN is never the largest.
    private mutating func tally(_ errors: UnsafeMutablePointer<Double>, _ side: SideBlock) -> Double {
        var largest = 0.0
        var beyond = 0, nonFinite = 0
        for j in 0..<side.count {
            let error = errors[j]
            largest = max(largest, error)
            if error.isFinite {
                buckets.add(bucket: HistogramCounter.bucket(error: error), element: j)
            } else {
                nonFinite &+= 1
            }
            beyond &+= error > limit ? 1 : 0
            if error > 0 && worst.mightAccept(primary: error) { offer(error, side, j) }
        }
        beyondLimit += beyond
        self.nonFinite += nonFinite
        return largest
    }

    /// `tally` for a block of finite errors whose count above 0 and largest `blockErrors`
    /// found: errors all at most 1 fill buckets 0 and 1 from the count, larger ones are
    /// bucketed without a branch on their values and counted; the count beyond the limit
    /// is taken when the largest exceeds it, and the worst elements are looked for only
    /// when the largest could enter their list. The same figures as `tally`'s.
    @inline(__always)
    private mutating func tallyFinite(
        _ errors: UnsafeMutablePointer<Double>, _ side: SideBlock, positive: Int, largest: Double,
        slots: UnsafeMutablePointer<Int32>
    ) {
        let count = side.count
        if largest <= 1 {
            buckets.add(bucket: 0, count: count - positive)
            buckets.add(bucket: 1, count: positive)
        } else {
            for j in 0..<count {
                slots[j] = BucketCounts.slot(bucket: Int32(HistogramCounter.bucket(error: errors[j])), element: j)
            }
            buckets.add(slots: slots, count: count)
        }
        if largest > limit {
            var beyond = 0
            for j in 0..<count { beyond &+= errors[j] > limit ? 1 : 0 }
            beyondLimit += beyond
        }
        guard largest > 0 && worst.mightAccept(primary: largest) else { return }
        for j in 0..<count where errors[j] > 0 && worst.mightAccept(primary: errors[j]) {
            offer(errors[j], side, j)
        }
    }

    @inline(__always)
    private mutating func offer(_ error: Double, _ side: SideBlock, _ j: Int) {
        worst.offer(
            RankedElement(
                primary: error, secondary: 0, flatIndex: side.start + j,
                values: ElementValues(a: side.value(j), b: .nan, truthA: side.truth(j), scale: side.scale(j))))
    }
}

/// One side's operands of a block as the kernels read them: `count` values and their
/// truths from flat position `start`, of the block's `width` (`ScanBlock`), and the
/// scales, doubles at any alignment.
struct SideBlock {
    let start: Int
    let count: Int
    let width: StoredBlock.Width
    let values: UnsafeRawPointer
    let truth: UnsafeRawPointer
    let scales: UnsafeRawPointer

    @inline(__always) func value(_ j: Int) -> Double { load(values, j) }
    @inline(__always) func truth(_ j: Int) -> Double { load(truth, j) }
    @inline(__always) func scale(_ j: Int) -> Double { Double.load(scales, j) }

    @inline(__always)
    private func load(_ base: UnsafeRawPointer, _ j: Int) -> Double {
        width == .float32 ? Float.load(base, j) : Double.load(base, j)
    }

    /// Whether every value equals its truth by IEEE equality (so +0 == -0; a NaN never
    /// does, and takes the rules' way), without a branch per value; a block whose first
    /// four differ is declined at once.
    func allEqual() -> Bool {
        width == .float32 ? allEqual(Float.self) : allEqual(Double.self)
    }

    @inline(__always)
    private func allEqual<E: ScanElement>(_: E.Type) -> Bool {
        for j in 0..<min(count, 4) where E.load(values, j) != E.load(truth, j) { return false }
        var unequal = 0
        for j in 0..<count { unequal |= E.load(values, j) != E.load(truth, j) ? 1 : 0 }
        return unequal == 0
    }
}
