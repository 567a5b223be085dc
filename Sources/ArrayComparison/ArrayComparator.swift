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
        let total = elementCount(of: shape)
        precondition(a.count == total && b.count == total,
                     "compare: \(a.count) and \(b.count) values for shape \(shape) (\(total) elements)")
        let layout = ChannelLayout(shape: shape, axis: channelAxis)
        var scan = ComparisonScan(channels: layout.channels, topK: max(topK, 1), smallestNormal: format.smallestNormal)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                var flat = 0
                for _ in 0..<layout.outer {
                    for channel in 0..<layout.channels {
                        for _ in 0..<layout.inner {
                            let figures = ElementFigures(
                                comparing: a[flat], b[flat], format: format,
                                tolerance: tolerance, equalNaN: equalNaN)
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
                figures: ElementFigures(comparing: a[i], b[i], format: format,
                                        tolerance: tolerance, equalNaN: equalNaN),
                flatIndex: i, shape: shape, a: a[i], b: b[i])
        }
        let ranked = scan.worst.sorted()
        let channels = layout.axis == nil ? [] : scan.channelSummaries()
        return KeyComparison(
            shape: shape, format: format, tolerance: tolerance, equalNaN: equalNaN,
            verdict: scan.mismatched == 0 ? .match : .mismatch,
            total: total, mismatched: scan.mismatched,
            mismatchedPercent: total == 0 ? 0 : 100 * Double(scan.mismatched) / Double(total),
            maxAbsoluteDifference: scan.maxAbsolute,
            maxRelativeDifference: scan.maxRelative,
            maxULPDistance: scan.maxULP,
            worst: ranked.first.map(offender),
            channelAxis: layout.axis,
            channels: channels,
            worstChannel: ranked.isEmpty ? nil : worstChannel(of: channels),
            nonFinite: scan.nonFinite,
            signFlips: scan.signFlips,
            topOffenders: ranked.prefix(max(topK, 0)).map(offender),
            histogram: scan.histogram.histogram(unit: "ulp", limitLabel: "beyond tolerance"))
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

extension Offender {
    init(figures: ElementFigures, flatIndex: Int, shape: [Int], a: Double, b: Double) {
        self.init(
            flatIndex: flatIndex, index: multiIndex(ofFlat: flatIndex, shape: shape),
            a: a, b: b, kind: figures.kind, matches: figures.matches,
            absoluteDifference: figures.absoluteDifference,
            relativeDifference: figures.relativeDifference,
            ulpDistance: figures.ulpDistance, excess: figures.excess,
            truth: nil, errorA: nil, errorB: nil)
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

    func channelSummaries() -> [ChannelSummary] {
        channelCount.indices.map { c in
            ChannelSummary(
                channel: c, count: channelCount[c], mismatched: channelMismatched[c],
                maxAbsoluteDifference: channelMaxAbsolute[c], maxULPDistance: channelMaxULP[c],
                maxExcess: channelMaxExcess[c])
        }
    }
}
