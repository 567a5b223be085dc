import Testing

@testable import ExactBatchNorm

/// Four channels in the lanes of `ChannelLanes` (the scales' passes over the elements)
/// against the loops that take one channel at a time: the same sums and the same largest
/// scale of out, bit for bit, channels first and last, float32 and float64, with dout
/// and without, on data with a large offset, signed zeros and a NaN.
@Suite struct ChannelLanesTests {
    /// Every sum of a channel, as bits.
    static func bits(_ s: ScaleSums) -> [UInt64] {
        [s.absX, s.absDeviationTimesX, s.squaredDeviation, s.absDout, s.absDoutTimesX, s.absDoutTimesDeviation]
            .map(\.bitPattern)
    }

    static func statistics(_ channels: Int, _ g: inout TestGenerator) -> [ChannelStatistics] {
        (0..<channels).map { c in
            ChannelStatistics(
                count: 15, mean: c == 2 ? 1000.25 : g.uniform() - 0.5, variance: 0, invstd: 1 + g.uniform(),
                eps: 1e-5, gamma: g.uniform() - 0.5, beta: c == 1 ? 0 : g.uniform(), dbeta: g.uniform(),
                dgamma: g.uniform(), meanScale: g.uniform(), training: true)
        }
    }

    /// Values near the channel's mean, offset ones in channel 2, zeros of both signs and
    /// (when asked) a NaN.
    static func values<X: BatchNormFloat>(
        _ shape: BatchNormShape, _: X.Type, nan: Bool, _ g: inout TestGenerator
    ) -> [X] {
        (0..<shape.elementCount).map { i in
            switch i % 17 {
            case 3: X(exactly: -0.0)!
            case 5: X(exactly: 0.0)!
            case 11 where nan: .nan
            default: X(roundingDouble: (g.uniform() * 4 - 2) + (i % 7 == 2 ? 1000 : 0))
            }
        }
    }

    func check<X: BatchNormFloat>(_: X.Type, layout: ChannelLayout, dout withDout: Bool, nan: Bool) throws {
        for channels in [4, 5, 7, 9] {
            let dimensions = layout == .channelsFirst ? [3, channels, 5] : [3, 5, channels]
            let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
            var g = TestGenerator(state: UInt64(channels) &* 977)
            let x = Self.values(shape, X.self, nan: nan, &g), dout = Self.values(shape, X.self, nan: false, &g)
            let statistics = Self.statistics(channels, &g)
            try x.withUnsafeBytes { xs in
                try dout.withUnsafeBytes { ds in
                    let xe = Elements<X>(xs.baseAddress!)
                    let de = withDout ? Elements<X>(ds.baseAddress!) : nil
                    for c in 0...(channels - 4) {
                        try expectSameAsOneChannel(c, xe, de, shape, statistics)
                    }
                }
            }
        }
    }

    func expectSameAsOneChannel<X: BatchNormFloat>(
        _ c: Int, _ x: Elements<X>, _ dout: Elements<X>?, _ shape: BatchNormShape, _ statistics: [ChannelStatistics]
    ) throws {
        let lanes = ScaleSums.fourChannels(c, x: x, dout: dout, shape: shape, statistics: statistics)
        let single = (c..<c + 4).map {
            ScaleSums.fewChannels($0, paired: false, x: x, dout: dout, shape: shape, statistics: statistics)[0]
        }
        #expect(lanes.map(Self.bits) == single.map(Self.bits), "channels \(c)..<\(c + 4) \(shape.layout)")
        let coefficients = single.map { sums in
            var channel = sums
            channel.statistics.complete(with: channel)
            return ElementScaleCoefficients(channel, mode: .training)
        }
        let largest = ElementScales.largestOut(x: x, shape: shape, channels: c, coefficients)
        let one = (0..<4).map { ElementScales.largestOut(x: x, shape: shape, channel: c + $0, coefficients[$0]) }
        #expect(largest.map(\.bitPattern) == one.map(\.bitPattern), "largest out, channels \(c)..<\(c + 4)")
    }

    @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast], [false, true])
    func float32LanesGiveTheOneChannelFigures(layout: ChannelLayout, dout: Bool) throws {
        try check(Float.self, layout: layout, dout: dout, nan: false)
        try check(Float.self, layout: layout, dout: dout, nan: true)
    }

    @Test(arguments: [ChannelLayout.channelsFirst, .channelsLast], [false, true])
    func float64LanesGiveTheOneChannelFigures(layout: ChannelLayout, dout: Bool) throws {
        try check(Double.self, layout: layout, dout: dout, nan: false)
        try check(Double.self, layout: layout, dout: dout, nan: true)
    }
}
