extension KeyComparison {
    /// Compares candidate `a` against reference `b`, element by element, in one pass.
    ///
    /// - Parameters:
    ///   - a, b: the two arrays converted to `Double` (exact for every `FloatFormat`),
    ///     flattened in row-major (C) order, both `shape.reduce(1, *)` long.
    ///   - format: the format the data were stored in; it sets the ULP grid and the
    ///     floor of relative differences.
    ///   - channelAxis: axis for the per-channel breakdown (negative counts from the end);
    ///     nil or out of range for none.
    ///   - equalNaN: whether NaN against NaN counts as a match (torch's `equal_nan`).
    ///   - topK: how many of the worst elements to list.
    ///
    /// The cost is one pass over the data with a fixed amount of state: per-channel
    /// accumulators, a 65-bucket histogram and a heap of `topK` entries.
    public static func compare(
        _ a: [Double], _ b: [Double], shape: [Int],
        format: FloatFormat, tolerance: Tolerance,
        channelAxis: Int? = 1, equalNaN: Bool = false, topK: Int = 10
    ) -> KeyComparison {
        compare(a, b, shape: shape, format: format, tolerance: tolerance, channelAxis: channelAxis,
                equalNaN: equalNaN, topK: topK, identicalShortcut: true)
    }

    /// `identicalShortcut: false` forces the element-by-element pass even for identical
    /// arrays, so tests can show that the shortcut reports exactly what the pass would.
    static func compare(
        _ a: [Double], _ b: [Double], shape: [Int],
        format: FloatFormat, tolerance: Tolerance,
        channelAxis: Int?, equalNaN: Bool, topK: Int, identicalShortcut: Bool
    ) -> KeyComparison {
        let total = elementCount(of: shape)
        precondition(a.count == total && b.count == total,
                     "compare: \(a.count) and \(b.count) values for shape \(shape) (\(total) elements)")
        let split = ChannelSplit(shape: shape, axis: channelAxis)
        var scan = ComparisonScan(channels: split.channels, topK: max(topK, 1), smallestNormal: format.smallestNormal)
        // The per-element rule needs the two numbers only: without the report's `source`
        // text, the loop carries no reference-counted value.
        let rule = Tolerance(rtol: tolerance.rtol, atol: tolerance.atol, source: "")
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                if identicalShortcut, let largest = largestMagnitudeIfIdenticalAndFinite(a, b) {
                    scan.addIdentical(split: split, anyNormalReference: largest >= format.smallestNormal)
                    return
                }
                var flat = 0
                for _ in 0..<split.outer {
                    for channel in 0..<split.channels {
                        for _ in 0..<split.inner {
                            let figures = ElementFigures(
                                comparing: a[flat], b[flat], format: format, tolerance: rule, equalNaN: equalNaN)
                            scan.add(figures, a: a[flat], b: b[flat], flatIndex: flat, channel: channel)
                            flat += 1
                        }
                    }
                }
            }
        }

        let offender = { (ranked: RankedElement) -> Offender in
            let i = ranked.flatIndex
            return Offender(
                flatIndex: i, index: multiIndex(ofFlat: i, shape: shape), a: a[i], b: b[i],
                figures: ElementFigures(comparing: a[i], b[i], format: format, tolerance: tolerance, equalNaN: equalNaN))
        }
        let ranked = scan.worst.sorted()
        let channels = split.axis == nil ? [] : scan.channelSummaries()
        return KeyComparison(
            shape: shape, format: format, tolerance: tolerance, equalNaN: equalNaN,
            verdict: scan.mismatched == 0 ? .match : .mismatch,
            total: total, mismatched: scan.mismatched,
            mismatchedPercent: total == 0 ? 0 : 100 * Double(scan.mismatched) / Double(total),
            maxAbsoluteDifference: scan.maxAbsolute,
            maxRelativeDifference: scan.maxRelative,
            maxULPDistance: scan.maxULP,
            worst: ranked.first.map(offender),
            channelAxis: split.axis,
            channels: channels,
            worstChannel: ranked.isEmpty ? nil : worstChannel(of: channels),
            nonFinite: scan.nonFinite,
            signFlips: scan.signFlips,
            topOffenders: ranked.prefix(max(topK, 0)).map(offender),
            histogram: scan.histogram.histogram(unit: "ulp", limitLabel: "beyond tolerance"))
    }

    /// The largest |b| when A and B hold the same finite values bit for bit (a file
    /// compared with itself, as `bnfile check` does), nil otherwise. Such a pair's
    /// figures are all known without the per-element arithmetic: every element matches
    /// at 0 ulp, and only the relative figure depends on whether some reference is normal.
    static func largestMagnitudeIfIdenticalAndFinite(
        _ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>
    ) -> Double? {
        guard a.count == b.count else { return nil }
        // Bit patterns as integers: the loop has no branch and vectorizes. The largest
        // magnitude's pattern is the largest pattern of the magnitudes, and a NaN's or
        // an infinity's is at least infinity's.
        var largest: UInt64 = 0
        // In blocks, so that two different arrays cost one block's look, not a pass.
        for start in stride(from: 0, to: b.count, by: 4096) {
            var difference: UInt64 = 0
            for i in start ..< min(start + 4096, b.count) {
                difference |= a[i].bitPattern ^ b[i].bitPattern
                largest = max(largest, b[i].magnitude.bitPattern)
            }
            guard difference == 0 else { return nil }
        }
        return largest < Double.infinity.bitPattern ? Double(bitPattern: largest) : nil
    }

    /// Most mismatches first: a bug confined to one channel shows as one channel with
    /// all of them. Among channels with equal counts (including all-zero), the one whose
    /// worst element is furthest beyond tolerance.
    static func worstChannel(of channels: [ChannelSummary]) -> Int? {
        channels.max { lhs, rhs in
            if lhs.mismatched != rhs.mismatched { return lhs.mismatched < rhs.mismatched }
            if lhs.maxExcess != rhs.maxExcess { return lhs.maxExcess < rhs.maxExcess }
            return lhs.channel > rhs.channel  // ties go to the lower channel
        }?.channel
    }
}

/// The running state of one comparison pass.
private struct ComparisonScan {
    var mismatched = 0
    var maxAbsolute = 0.0
    /// Over references of full relative precision only (|b| >= the smallest normal):
    /// against a zero reference no relative figure means anything.
    var maxRelative: Double? = nil
    var maxULP: UInt64 = 0
    var nonFinite = NonFiniteCounts()
    var signFlips = 0
    var histogram = HistogramCounter()
    var worst: WorstElements
    var channelCount: [Int]
    var channelMismatched: [Int]
    var channelMaxAbsolute: [Double]
    var channelMaxULP: [UInt64]
    var channelMaxExcess: [Double]

    let smallestNormal: Double

    init(channels: Int, topK: Int, smallestNormal: Double) {
        self.smallestNormal = smallestNormal
        worst = WorstElements(capacity: topK)
        channelCount = Array(repeating: 0, count: channels)
        channelMismatched = Array(repeating: 0, count: channels)
        channelMaxAbsolute = Array(repeating: 0, count: channels)
        channelMaxULP = Array(repeating: 0, count: channels)
        channelMaxExcess = Array(repeating: 0, count: channels)
    }

    @inline(__always)
    mutating func add(_ figures: ElementFigures, a: Double, b: Double, flatIndex: Int, channel: Int) {
        channelCount[channel] += 1
        if !figures.matches {
            mismatched += 1
            channelMismatched[channel] += 1
            histogram.beyondLimit += 1
        }
        switch figures.kind {
        case .finite:
            let ulp = figures.ulpDistance ?? 0
            maxAbsolute = max(maxAbsolute, figures.absoluteDifference)
            if abs(b) >= smallestNormal { maxRelative = max(maxRelative ?? 0, figures.relativeDifference) }
            maxULP = max(maxULP, ulp)
            channelMaxAbsolute[channel] = max(channelMaxAbsolute[channel], figures.absoluteDifference)
            channelMaxULP[channel] = max(channelMaxULP[channel], ulp)
            histogram.add(ulp: ulp)
            if a != 0 && b != 0 && a.sign != b.sign { signFlips += 1 }
        case .sameInfinity:
            histogram.add(ulp: 0)
        case .bothNaN, .nanInAOnly, .nanInBOnly, .infVsFinite, .infOppositeSign:
            nonFinite.count(figures.kind)
            histogram.addNonFinite()
        }
        if figures.excess > 0 {
            channelMaxExcess[channel] = max(channelMaxExcess[channel], figures.excess)
            // NaN pairs have no ULP distance; rank them above any number.
            worst.offer(RankedElement(
                primary: figures.excess, secondary: figures.ulpDistance ?? .max, flatIndex: flatIndex))
        }
    }

    /// What `add` would record for every element of identical, finite arrays.
    mutating func addIdentical(split: ChannelSplit, anyNormalReference: Bool) {
        let perChannel = split.outer * split.inner
        for c in channelCount.indices { channelCount[c] += perChannel }
        histogram.add(zeroULPCount: split.outer * split.channels * split.inner)
        if anyNormalReference { maxRelative = max(maxRelative ?? 0, 0) }
    }

    func channelSummaries() -> [ChannelSummary] {
        channelCount.indices.map { c in
            ChannelSummary(
                channel: c, count: channelCount[c], mismatched: channelMismatched[c],
                maxAbsoluteDifference: channelMaxAbsolute[c], maxULPDistance: channelMaxULP[c],
                maxExcess: channelMaxExcess[c])
        }
    }
}
