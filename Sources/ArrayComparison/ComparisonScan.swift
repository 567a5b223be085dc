/// The running state of comparing A with B: the figures `KeyComparison` reports,
/// gathered a block at a time.
///
/// Blocks may come in any order and from several scans of disjoint parts, merged at
/// the end (`merge`): every figure is a count, a maximum or a list of the worst
/// elements under a total order, so the result is the same however the array was cut.
///
/// Each element's figures are `ElementFigures`' (the definition). A block of finite
/// pairs computes them in lanes of four, with the same operations in the same order, so
/// the same bits; any other block (a NaN or an infinity on either side) is taken element
/// by element through `ElementFigures` itself.
struct ComparisonScan {
    let format: FloatFormat
    /// The per-element rule: the tolerance's numbers without its `source` text, so the
    /// loops carry no reference-counted value.
    let rtol: Double
    let atol: Double
    let equalNaN: Bool
    let split: ChannelSplit
    /// Whether a block of identical finite values may skip the arithmetic (tests turn it
    /// off to show that the shortcut reports what the arithmetic would).
    let identicalShortcut: Bool

    var mismatched = 0
    var maxAbsolute = 0.0
    /// Over references of full relative precision only (|b| >= the smallest normal):
    /// against a zero reference no relative figure means anything.
    var maxRelative: Double? = nil
    var maxULP: UInt64 = 0
    var nonFinite = NonFiniteCounts()
    var signFlips = 0
    var worst: WorstElements
    /// The ULP histogram's counters and its count of pairs without a distance.
    let buckets = BucketCounts()
    var histogramNonFinite = 0
    let channelMismatched: Counters<Int>
    let channelMaxAbsolute: Counters<Double>
    let channelMaxULP: Counters<UInt64>
    let channelMaxExcess: Counters<Double>

    init(
        format: FloatFormat, tolerance: Tolerance, equalNaN: Bool, split: ChannelSplit, topK: Int,
        identicalShortcut: Bool = true
    ) {
        self.format = format
        (rtol, atol) = (tolerance.rtol, tolerance.atol)
        self.equalNaN = equalNaN
        self.split = split
        self.identicalShortcut = identicalShortcut
        worst = WorstElements(capacity: max(topK, 1))
        let channels = split.breakdownCount
        channelMismatched = Counters(count: channels, zero: 0)
        channelMaxAbsolute = Counters(count: channels, zero: 0)
        channelMaxULP = Counters(count: channels, zero: 0)
        channelMaxExcess = Counters(count: channels, zero: 0)
    }

    /// Adds the block of flat positions `start ..< start + count`, whose values are
    /// `block.a[0 ..< count]` and `block.b[0 ..< count]`.
    mutating func add(_ block: ScanBlock, figures: FigureScratch) {
        if identicalShortcut, let anyNormal = Self.identicalAndFinite(block, smallestNormal: format.smallestNormal) {
            addIdentical(count: block.count, anyNormalReference: anyNormal)
            return
        }
        guard let totals = figures.compute(block, format: format, rtol: rtol, atol: atol) else {
            for j in 0..<block.count { addElement(block, j) }
            return
        }
        if identicalShortcut && totals.identical == block.count {
            addIdentical(count: block.count, anyNormalReference: totals.anyNormalReference)
            return
        }
        mismatched += totals.mismatched
        maxAbsolute = max(maxAbsolute, totals.maxAbsolute)
        if totals.anyNormalReference { maxRelative = max(maxRelative ?? 0, totals.maxRelative) }
        maxULP = max(maxULP, totals.maxULP)
        signFlips += totals.signFlips
        tallyElements(block, figures, largestExcess: totals.maxExcess)
        if split.axis != nil { tallyChannels(block, figures, totals: totals) }
    }

    /// When A and B hold the same finite values bit for bit in the block (a file compared
    /// with itself, as `bnfile check` does), whether some reference is normal; nil
    /// otherwise. A block that differs in its first four values is declined at once.
    static func identicalAndFinite(_ block: ScanBlock, smallestNormal: Double) -> Bool? {
        let exponent = LaneBits(repeating: 0x7FF0_0000_0000_0000)
        var difference = LaneBits(), special = LaneBits(), largest = LaneBits()
        var j = 0
        while j < block.count {
            let a = unsafeBitCast(loadLanes(block.a, j, block.count), to: LaneBits.self)
            let b = unsafeBitCast(loadLanes(block.b, j, block.count), to: LaneBits.self)
            difference |= a ^ b
            if j == 0 && difference != LaneBits() { return nil }
            special |= select(b & exponent .== exponent, LaneBits(repeating: 1), LaneBits())
            largest = laneMax(largest, b & LaneBits(repeating: ~(1 << 63)))
            j += 4
        }
        guard difference == LaneBits(), special == LaneBits() else { return nil }
        return Double(bitPattern: largest.max()) >= smallestNormal
    }

    /// What `addElement` would record for every element of identical, finite values:
    /// a match at 0 ulp, whose relative figure counts where some reference is normal.
    mutating func addIdentical(count: Int, anyNormalReference: Bool) {
        buckets.add(bucket: 0, count: count)
        if anyNormalReference { maxRelative = max(maxRelative ?? 0, 0) }
    }

    /// The histogram and the worst elements, from a block's computed figures; the worst
    /// are looked for only when the block's largest excess could enter their list.
    @inline(__always)
    private mutating func tallyElements(_ block: ScanBlock, _ figures: FigureScratch, largestExcess: Double) {
        for j in 0..<block.count { buckets.add(bucket: figures.bucket[j], element: j) }
        guard largestExcess > 0 && worst.mightAccept(primary: largestExcess) else { return }
        for j in 0..<block.count {
            let excess = figures.excess[j]
            if excess > 0 && worst.mightAccept(primary: excess) {
                worst.offer(
                    RankedElement(
                        primary: excess, secondary: figures.ulp[j], flatIndex: block.start + j,
                        values: block.values(at: j)))
            }
        }
    }

    /// Each channel's mismatches and largest figures; a block inside one channel's run
    /// (the usual case, channels first) takes the block's totals at once.
    @inline(__always)
    private func tallyChannels(_ block: ScanBlock, _ figures: FigureScratch, totals: FigureTotals) {
        let (m, absolute, ulp, excess) = (
            channelMismatched.pointer, channelMaxAbsolute.pointer,
            channelMaxULP.pointer, channelMaxExcess.pointer
        )
        split.forEachRun(in: block.start..<block.start + block.count) { c, lower, upper in
            if upper - lower == block.count {
                m[c] += totals.mismatched
                absolute[c] = max(absolute[c], totals.maxAbsolute)
                ulp[c] = max(ulp[c], totals.maxULP)
                excess[c] = max(excess[c], totals.maxExcess)
                return
            }
            for j in (lower - block.start)..<(upper - block.start) {
                m[c] += figures.mismatch[j]
                absolute[c] = max(absolute[c], figures.difference[j])
                ulp[c] = max(ulp[c], figures.ulp[j])
                excess[c] = max(excess[c], figures.excess[j])
            }
        }
    }

    /// One element by the definition (`ElementFigures`), for blocks the lanes do not
    /// take: every kind of pair has its rule here.
    private mutating func addElement(_ block: ScanBlock, _ j: Int) {
        let a = block.a[j], b = block.b[j], flat = block.start + j
        let figures = ElementFigures(
            comparing: a, b, format: format,
            tolerance: Tolerance(rtol: rtol, atol: atol, source: ""), equalNaN: equalNaN)
        let channel = split.axis == nil ? nil : Optional(split.channel(of: flat))
        if !figures.matches {
            mismatched += 1
            if let channel { channelMismatched.pointer[channel] += 1 }
        }
        switch figures.kind {
        case .finite:
            let ulp = figures.ulpDistance ?? 0
            maxAbsolute = max(maxAbsolute, figures.absoluteDifference)
            if abs(b) >= format.smallestNormal { maxRelative = max(maxRelative ?? 0, figures.relativeDifference) }
            maxULP = max(maxULP, ulp)
            if let channel {
                channelMaxAbsolute.pointer[channel] = max(
                    channelMaxAbsolute.pointer[channel], figures.absoluteDifference)
                channelMaxULP.pointer[channel] = max(channelMaxULP.pointer[channel], ulp)
            }
            buckets.add(bucket: HistogramCounter.bucket(ulp: ulp), element: j)
            if a != 0 && b != 0 && a.sign != b.sign { signFlips += 1 }
        case .sameInfinity:
            buckets.add(bucket: 0, element: j)
        case .bothNaN, .nanInAOnly, .nanInBOnly, .infVsFinite, .infOppositeSign:
            nonFinite.count(figures.kind)
            histogramNonFinite += 1
        }
        if figures.excess > 0 {
            if let channel {
                channelMaxExcess.pointer[channel] = max(channelMaxExcess.pointer[channel], figures.excess)
            }
            // NaN pairs have no ULP distance; rank them above any number.
            worst.offer(
                RankedElement(
                    primary: figures.excess, secondary: figures.ulpDistance ?? .max, flatIndex: flat,
                    values: block.values(at: j)))
        }
    }

    /// Adds the figures of a scan of other blocks.
    mutating func merge(_ other: ComparisonScan) {
        mismatched += other.mismatched
        maxAbsolute = max(maxAbsolute, other.maxAbsolute)
        if let relative = other.maxRelative { maxRelative = max(maxRelative ?? 0, relative) }
        maxULP = max(maxULP, other.maxULP)
        nonFinite.add(other.nonFinite)
        signFlips += other.signFlips
        worst.merge(other.worst)
        buckets.add(other.buckets)
        histogramNonFinite += other.histogramNonFinite
        for c in 0..<channelMismatched.count {
            channelMismatched.pointer[c] += other.channelMismatched.pointer[c]
            channelMaxAbsolute.pointer[c] = max(channelMaxAbsolute.pointer[c], other.channelMaxAbsolute.pointer[c])
            channelMaxULP.pointer[c] = max(channelMaxULP.pointer[c], other.channelMaxULP.pointer[c])
            channelMaxExcess.pointer[c] = max(channelMaxExcess.pointer[c], other.channelMaxExcess.pointer[c])
        }
    }

    var histogram: HistogramCounter { buckets.histogram(nonFinite: histogramNonFinite, beyondLimit: mismatched) }

    /// Every element of a channel is scanned once: `outer * inner` of them.
    func channelSummaries() -> [ChannelSummary] {
        (0..<split.breakdownCount).map { c in
            ChannelSummary(
                channel: c, count: split.outer * split.inner, mismatched: channelMismatched.pointer[c],
                maxAbsoluteDifference: channelMaxAbsolute.pointer[c], maxULPDistance: channelMaxULP.pointer[c],
                maxExcess: channelMaxExcess.pointer[c])
        }
    }
}

extension NonFiniteCounts {
    mutating func add(_ other: NonFiniteCounts) {
        nanInAOnly += other.nanInAOnly
        nanInBOnly += other.nanInBOnly
        nanInBoth += other.nanInBoth
        infVsFinite += other.infVsFinite
        infOppositeSign += other.infOppositeSign
    }
}
