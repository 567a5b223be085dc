/// The running state of comparing A with B: the figures `KeyComparison` reports,
/// gathered a block at a time.
///
/// Blocks may come in any order and from several scans of disjoint parts, merged at
/// the end (`merge`): every figure is a count, a maximum or a list of the worst
/// elements under a total order, so the result is the same however the array was cut.
///
/// Each element's figures are `ElementFigures`' (the definition). A block of finite
/// pairs computes them in one loop without branches that vectorizes
/// (`FigureScratch.compute`), from the values where they are stored, with the same
/// operations in the same order, so the same bits; any other block (a NaN or an
/// infinity on either side) is taken element by element through `ElementFigures`
/// itself. The histogram is tallied from each element's counter, which the kernel
/// stores; a block's channel figures are its totals when it lies in one channel's run.
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
    /// `block.a` and `block.b`.
    mutating func add(_ block: ScanBlock, figures: FigureScratch) {
        if identicalShortcut, let anyNormal = Self.identicalAndFinite(block, smallestNormal: format.smallestNormal) {
            addIdentical(count: block.count, anyNormalReference: anyNormal)
            return
        }
        let oneRun = split.axis == nil || split.isOneRun(block.start..<block.start + block.count)
        guard
            let totals = figures.compute(block, format: format, rtol: rtol, atol: atol, perElement: !oneRun)
        else {
            for j in 0..<block.count { addElement(block, j) }
            return
        }
        if identicalShortcut && totals.allIdentical {
            addIdentical(count: block.count, anyNormalReference: totals.anyNormalReference)
            return
        }
        mismatched += totals.mismatched
        maxAbsolute = max(maxAbsolute, totals.maxAbsolute)
        if totals.anyNormalReference { maxRelative = max(maxRelative ?? 0, totals.maxRelative) }
        maxULP = max(maxULP, totals.maxULP)
        signFlips += totals.signFlips
        tallyElements(block, figures, largestExcess: totals.maxExcess)
        if split.axis != nil { tallyChannels(block, figures, totals: totals, oneRun: oneRun) }
    }

    /// When A and B hold the same finite values bit for bit in the block (a file compared
    /// with itself, as `bnfile check` does), whether some reference is normal; nil
    /// otherwise. A block that differs in its first four values is declined at once.
    static func identicalAndFinite(_ block: ScanBlock, smallestNormal: Double) -> Bool? {
        block.width == .float32
            ? identicalAndFinite(block, Float.self, smallestNormal: smallestNormal)
            : identicalAndFinite(block, Double.self, smallestNormal: smallestNormal)
    }

    @inline(__always)
    private static func identicalAndFinite<E: ScanElement>(
        _ block: ScanBlock, _: E.Type, smallestNormal: Double
    ) -> Bool? {
        let (a, b, count) = (block.a, block.b, block.count)
        for j in 0..<min(count, 4) where E.load(a, j).bitPattern != E.load(b, j).bitPattern { return nil }
        var difference: UInt64 = 0, largest: Int64 = 0
        for j in 0..<count {
            let x = E.load(a, j).bitPattern, y = E.load(b, j).bitPattern
            difference |= x ^ y
            let magnitude = Int64(bitPattern: y & ~(1 << 63))
            largest = magnitude > largest ? magnitude : largest
        }
        // A magnitude at infinity's bits or above is an infinity or a NaN.
        guard difference == 0, largest < 0x7FF0_0000_0000_0000 else { return nil }
        return Double(bitPattern: UInt64(largest)) >= smallestNormal
    }

    /// What `addElement` would record for every element of identical, finite values:
    /// a match at 0 ulp, whose relative figure counts where some reference is normal.
    mutating func addIdentical(count: Int, anyNormalReference: Bool) {
        buckets.add(bucket: 0, count: count)
        if anyNormalReference { maxRelative = max(maxRelative ?? 0, 0) }
    }

    /// The histogram and the worst elements, from a block's computed figures; the worst
    /// are looked for only when the block's largest excess could enter their list, and
    /// their ULP distances (the second key) computed by the definition.
    @inline(__always)
    private mutating func tallyElements(_ block: ScanBlock, _ figures: FigureScratch, largestExcess: Double) {
        buckets.add(slots: figures.slot, count: block.count)
        guard largestExcess > 0 && worst.mightAccept(primary: largestExcess) else { return }
        for j in 0..<block.count {
            let excess = figures.excess[j]
            if excess > 0 && worst.mightAccept(primary: excess) {
                let values = block.values(at: j)
                worst.offer(
                    RankedElement(
                        primary: excess, secondary: format.ulpDistance(values.a, values.b)!,
                        flatIndex: block.start + j, values: values))
            }
        }
    }

    /// Each channel's mismatches and largest figures: a block inside one channel's run
    /// (the usual case, channels first) takes the block's totals at once, any other the
    /// per-element figures, channels last a row of channels at a time.
    @inline(__always)
    private func tallyChannels(_ block: ScanBlock, _ figures: FigureScratch, totals: FigureTotals, oneRun: Bool) {
        let (m, absolute, ulp, excess) = (
            channelMismatched.pointer, channelMaxAbsolute.pointer,
            channelMaxULP.pointer, channelMaxExcess.pointer
        )
        if oneRun {
            let c = split.channel(of: block.start)
            m[c] += totals.mismatched
            absolute[c] = max(absolute[c], totals.maxAbsolute)
            ulp[c] = max(ulp[c], totals.maxULP)
            excess[c] = max(excess[c], totals.maxExcess)
            return
        }
        if split.inner == 1 {
            split.forEachRow(in: block.start..<block.start + block.count) { c, lower, upper in
                let first = lower - block.start
                for j in 0..<(upper - lower) {
                    m[c + j] += figures.mismatch[first + j]
                    absolute[c + j] = max(absolute[c + j], figures.difference[first + j])
                    ulp[c + j] = max(ulp[c + j], figures.ulp[first + j])
                    excess[c + j] = max(excess[c + j], figures.excess[first + j])
                }
            }
            return
        }
        split.forEachRun(in: block.start..<block.start + block.count) { c, lower, upper in
            // The run's figures first, then the channel's: the maxima of non-negative
            // figures, in any order.
            var mismatches = 0, largestAbsolute = 0.0, largestULP: UInt64 = 0, largestExcess = 0.0
            for j in (lower - block.start)..<(upper - block.start) {
                mismatches += figures.mismatch[j]
                largestAbsolute = max(largestAbsolute, figures.difference[j])
                largestULP = max(largestULP, figures.ulp[j])
                largestExcess = max(largestExcess, figures.excess[j])
            }
            m[c] += mismatches
            absolute[c] = max(absolute[c], largestAbsolute)
            ulp[c] = max(ulp[c], largestULP)
            excess[c] = max(excess[c], largestExcess)
        }
    }

    /// One element by the definition (`ElementFigures`), for blocks the kernels do not
    /// take: every kind of pair has its rule here.
    private mutating func addElement(_ block: ScanBlock, _ j: Int) {
        let a = block.value(block.a, j), b = block.value(block.b, j), flat = block.start + j
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
