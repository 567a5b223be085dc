/// The channel sums of magnitudes the scales need, accumulated in double in one pass.
///
/// Double is enough: a scale is a yardstick, needed to a few digits, and every term is
/// a magnitude, so the sums never cancel; their relative error is below M*2^-53.
struct ScaleSums: Sendable {
    var absX = 0.0
    var absDeviationTimesX = 0.0
    var squaredDeviation = 0.0
    var absDout = 0.0
    var absDoutTimesX = 0.0
    var absDoutTimesDeviation = 0.0
    var absDoutTimesXhat = 0.0
    var statistics: ChannelStatistics
    /// S_dgamma, which needs every element's S_xhat; see `completeDgammaScale()`.
    var dgammaScale = 0.0

    /// Every channel's sums, the channels cut among `threads`, and from them its element
    /// coefficients and its largest scale of out (taken while the channel's values are
    /// still in cache). Each channel adds its runs in memory order (batch by batch), each
    /// run's terms in a partial sum of its own, whatever the thread count: the sums, and
    /// so the scales, do not depend on it. Four channels at a time go through the lanes
    /// of `ChannelLanes` (the same operations in the same order), the rest of a thread's
    /// channels two or one at a time.
    static func all<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        statistics: [ChannelStatistics], threads: Int
    ) -> [(sums: ScaleSums, coefficients: ElementScaleCoefficients, largestOut: Double)] {
        let parts = parallelRanges(count: shape.channels, threads: threads) { channels in
            var results: [(sums: ScaleSums, coefficients: ElementScaleCoefficients, largestOut: Double)] = []
            var c = channels.lowerBound
            while c < channels.upperBound {
                let left = channels.upperBound - c
                let sums =
                    left >= 4
                    ? fourChannels(c, x: x, dout: dout, shape: shape, statistics: statistics)
                    : fewChannels(
                        c, paired: dout != nil && left > 1, x: x, dout: dout, shape: shape, statistics: statistics)
                let completed = sums.map { sums in
                    var channel = sums
                    channel.statistics.complete(with: channel)
                    channel.completeDgammaScale()
                    return (channel, ElementScaleCoefficients(channel, mode: mode))
                }
                let coefficients = completed.map(\.1)
                let largest =
                    sums.count == 4
                    ? ElementScales.largestOut(x: x, shape: shape, channels: c, coefficients)
                    : coefficients.enumerated().map { offset, k in
                        ElementScales.largestOut(x: x, shape: shape, channel: c + offset, k)
                    }
                for ((channel, k), largestOut) in zip(completed, largest) { results.append((channel, k, largestOut)) }
                c += sums.count
            }
            return results
        }
        return parts.flatMap { $0 }
    }

    /// The sums of channel `c`, or of `c` and `c + 1` when `paired` (which needs dout).
    static func fewChannels<X: BatchNormFloat>(
        _ c: Int, paired: Bool, x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape,
        statistics: [ChannelStatistics]
    ) -> [ScaleSums] {
        var first = ScaleSums(statistics: statistics[c])
        if paired, let dout {
            var second = ScaleSums(statistics: statistics[c + 1])
            shape.forEachRun(ofChannel: c) { start, stride, count in
                addRuns(
                    &first, &second, x: x, dout: dout, start: start, other: start + shape.channelStride,
                    stride: stride, count: count)
            }
            return [first, second]
        }
        shape.forEachRun(ofChannel: c) { start, stride, count in
            if let dout {
                first.addRun(x: x, dout: dout, start: start, stride: stride, count: count)
            } else {
                first.addRun(x: x, start: start, stride: stride, count: count)
            }
        }
        return [first]
    }

    /// Two channels' runs of the same length (`start` and `other`) at once: twice the
    /// independent chains of additions, each channel's sums in exactly the order of
    /// `addRun(x:dout:...)` on its own.
    @inline(__always)
    private static func addRuns<X: BatchNormFloat>(
        _ a: inout ScaleSums, _ b: inout ScaleSums, x: Elements<X>, dout: Elements<X>, start: Int, other: Int,
        stride: Int, count: Int
    ) {
        var first = RunTerms(), second = RunTerms()
        for j in 0..<count {
            first.add(x[start + j * stride].exactDouble, dout[start + j * stride].exactDouble, mean: a.statistics.mean)
            second.add(x[other + j * stride].exactDouble, dout[other + j * stride].exactDouble, mean: b.statistics.mean)
        }
        a.add(first)
        b.add(second)
    }

    /// The terms of x alone, over one run of the channel.
    @inline(__always)
    private mutating func addRun<X: BatchNormFloat>(x: Elements<X>, start: Int, stride: Int, count: Int) {
        let mean = statistics.mean
        var absX = 0.0, absDeviationTimesX = 0.0, squaredDeviation = 0.0
        for j in 0..<count {
            let value = x[start + j * stride].exactDouble
            let deviation = (value - mean).magnitude
            absX += value.magnitude
            absDeviationTimesX += deviation * value.magnitude
            squaredDeviation += deviation * deviation
        }
        self.absX += absX
        self.absDeviationTimesX += absDeviationTimesX
        self.squaredDeviation += squaredDeviation
    }

    /// The terms of x and dout, over one run of the channel.
    @inline(__always)
    private mutating func addRun<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>, start: Int, stride: Int, count: Int
    ) {
        var terms = RunTerms()
        for j in 0..<count {
            terms.add(x[start + j * stride].exactDouble, dout[start + j * stride].exactDouble, mean: statistics.mean)
        }
        add(terms)
    }

    /// A run's partial sums, added to the channel's at the run's end.
    @inline(__always)
    mutating func add(_ terms: RunTerms) {
        absX += terms.absX
        absDeviationTimesX += terms.absDeviationTimesX
        squaredDeviation += terms.squaredDeviation
        absDout += terms.absDout
        absDoutTimesX += terms.absDoutTimesX
        absDoutTimesDeviation += terms.absDoutTimesDeviation
    }

    /// sum |dout|*S_xhat + sum |dout*xhat|, with S_xhat = s*(|x| + S_mean + |c|) +
    /// |xhat|*(kappa + 1), from the sums alone (the statistics must be complete).
    private mutating func completeDgammaScale() {
        let s = statistics
        absDoutTimesXhat = absDoutTimesDeviation * s.invstd.magnitude
        let doutTimesXhatScale =
            s.invstd.magnitude * (absDoutTimesX + s.meanScale * absDout + absDoutTimesDeviation)
            + absDoutTimesXhat * (s.kappa + 1)
        dgammaScale = doutTimesXhatScale + absDoutTimesXhat
    }
}

/// One run's sums of x's and dout's terms, each a chain of additions in element order.
struct RunTerms {
    var absX = 0.0, absDeviationTimesX = 0.0, squaredDeviation = 0.0
    var absDout = 0.0, absDoutTimesX = 0.0, absDoutTimesDeviation = 0.0

    @inline(__always)
    mutating func add(_ value: Double, _ gradientValue: Double, mean: Double) {
        let deviation = (value - mean).magnitude, gradient = gradientValue.magnitude
        absX += value.magnitude
        absDeviationTimesX += deviation * value.magnitude
        squaredDeviation += deviation * deviation
        absDout += gradient
        absDoutTimesX += gradient * value.magnitude
        absDoutTimesDeviation += gradient * deviation
    }
}
