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
    /// so the scales, do not depend on it.
    static func all<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        statistics: [ChannelStatistics], threads: Int
    ) -> [(sums: ScaleSums, coefficients: ElementScaleCoefficients, largestOut: Double)] {
        let parts = parallelRanges(count: shape.channels, threads: threads) { channels in
            channels.map { c in
                var sums = ScaleSums(statistics: statistics[c])
                shape.forEachRun(ofChannel: c) { start, stride, count in
                    if let dout {
                        sums.addRun(x: x, dout: dout, start: start, stride: stride, count: count)
                    } else {
                        sums.addRun(x: x, start: start, stride: stride, count: count)
                    }
                }
                sums.statistics.complete(with: sums)
                sums.completeDgammaScale()
                let coefficients = ElementScaleCoefficients(sums, mode: mode)
                return (sums, coefficients, ElementScales.largestOut(x: x, shape: shape, channel: c, coefficients))
            }
        }
        return parts.flatMap { $0 }
    }

    /// The terms of x alone, over one run of the channel.
    @inline(__always)
    private mutating func addRun<X: BatchNormFloat>(x: Elements<X>, start: Int, stride: Int, count: Int) {
        let mean = statistics.mean
        var absX = 0.0, absDeviationTimesX = 0.0, squaredDeviation = 0.0
        for j in 0 ..< count {
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

    /// The terms of x and dout, over one run of the channel: each sum in the same order
    /// as `addRun(x:...)` and a pass of dout alone would take it, in one loop (six
    /// independent chains of additions instead of two loops of three).
    @inline(__always)
    private mutating func addRun<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>, start: Int, stride: Int, count: Int
    ) {
        let mean = statistics.mean
        var absX = 0.0, absDeviationTimesX = 0.0, squaredDeviation = 0.0
        var absDout = 0.0, absDoutTimesX = 0.0, absDoutTimesDeviation = 0.0
        for j in 0 ..< count {
            let index = start + j * stride
            let value = x[index].exactDouble
            let deviation = (value - mean).magnitude
            let gradient = dout[index].exactDouble.magnitude
            absX += value.magnitude
            absDeviationTimesX += deviation * value.magnitude
            squaredDeviation += deviation * deviation
            absDout += gradient
            absDoutTimesX += gradient * value.magnitude
            absDoutTimesDeviation += gradient * deviation
        }
        self.absX += absX
        self.absDeviationTimesX += absDeviationTimesX
        self.squaredDeviation += squaredDeviation
        self.absDout += absDout
        self.absDoutTimesX += absDoutTimesX
        self.absDoutTimesDeviation += absDoutTimesDeviation
    }

    /// sum |dout|*S_xhat + sum |dout*xhat|, with S_xhat = s*(|x| + S_mean + |c|) +
    /// |xhat|*(kappa + 1), from the sums alone (the statistics must be complete).
    private mutating func completeDgammaScale() {
        let s = statistics
        absDoutTimesXhat = absDoutTimesDeviation * s.invstd.magnitude
        let doutTimesXhatScale = s.invstd.magnitude * (absDoutTimesX + s.meanScale * absDout + absDoutTimesDeviation)
            + absDoutTimesXhat * (s.kappa + 1)
        dgammaScale = doutTimesXhatScale + absDoutTimesXhat
    }
}
