extension KeyComparison {
    /// Compares candidate `a` against reference `b`: every element's `ElementFigures`,
    /// in one blocked pass (`KeyScan`).
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
        compare(
            a, b, shape: shape, format: format, tolerance: tolerance, channelAxis: channelAxis,
            equalNaN: equalNaN, topK: topK, identicalShortcut: true)
    }

    /// `identicalShortcut: false` forces the element-by-element arithmetic even for
    /// identical blocks, so tests can show that the shortcut reports exactly what the
    /// arithmetic would.
    static func compare(
        _ a: [Double], _ b: [Double], shape: [Int],
        format: FloatFormat, tolerance: Tolerance,
        channelAxis: Int?, equalNaN: Bool, topK: Int, identicalShortcut: Bool, threads: Int = 1
    ) -> KeyComparison {
        let total = elementCount(of: shape)
        precondition(
            a.count == total && b.count == total,
            "compare: \(a.count) and \(b.count) values for shape \(shape) (\(total) elements)")
        let scan = KeyScan(
            shape: shape, format: format, tolerance: tolerance, channelAxis: channelAxis,
            truthChannelAxis: nil, equalNaN: equalNaN, topK: topK, truth: nil, sameSides: false,
            compares: true, identicalShortcut: identicalShortcut, threads: threads)
        KeyScan.run(
            [KeyScan.Part(scan: scan, range: 0..<total, sources: .init(a: ArrayBlocks(a), b: ArrayBlocks(b)))],
            threads: threads)
        return scan.finishComparison()
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

extension ComparisonScan {
    /// The key's figures, once every element was added: the worst elements' figures
    /// recomputed from their values by `ElementFigures` (with the tolerance's source),
    /// each offender then passed to `annotate` with the values the scan kept.
    func comparison(
        shape: [Int], tolerance: Tolerance, topK: Int,
        annotate: ((inout Offender, ElementValues) -> Void)? = nil
    ) -> KeyComparison {
        let total = elementCount(of: shape)
        let offender = { (ranked: RankedElement) -> Offender in
            let values = ranked.values
            var offender = Offender(
                flatIndex: ranked.flatIndex, index: multiIndex(ofFlat: ranked.flatIndex, shape: shape),
                a: values.a, b: values.b,
                figures: ElementFigures(
                    comparing: values.a, values.b, format: format, tolerance: tolerance,
                    equalNaN: equalNaN))
            annotate?(&offender, values)
            return offender
        }
        let ranked = worst.sorted()
        let channels = split.axis == nil ? [] : channelSummaries()
        return KeyComparison(
            shape: shape, format: format, tolerance: tolerance, equalNaN: equalNaN,
            verdict: mismatched == 0 ? .match : .mismatch,
            total: total, mismatched: mismatched,
            mismatchedPercent: total == 0 ? 0 : 100 * Double(mismatched) / Double(total),
            maxAbsoluteDifference: maxAbsolute,
            maxRelativeDifference: maxRelative,
            maxULPDistance: maxULP,
            worst: ranked.first.map(offender),
            channelAxis: split.axis,
            channels: channels,
            worstChannel: ranked.isEmpty ? nil : KeyComparison.worstChannel(of: channels),
            nonFinite: nonFinite,
            signFlips: signFlips,
            topOffenders: ranked.prefix(max(topK, 0)).map(offender),
            histogram: histogram.histogram(unit: "ulp", limitLabel: "beyond tolerance"))
    }
}
