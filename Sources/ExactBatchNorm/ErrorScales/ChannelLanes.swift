/// Four channels' passes over the elements at once, one channel in each lane of
/// `SIMD4<Double>`: the sums of `ScaleSums` and the largest scale of out.
///
/// A lane does exactly what the one-channel loops do for its channel, operation for
/// operation and in the same order (lane-wise arithmetic rounds each lane as the scalar
/// operation would, and nothing is contracted), so the sums, and so every scale, are the
/// same bits; the four channels only share the instructions. Their runs have the same
/// lengths and strides, `channelStride` apart.
typealias ChannelLanes = SIMD4<Double>

extension ScaleSums {
    /// The sums of channels `c ..< c + 4`, each from `statistics` of its own.
    static func fourChannels<X: BatchNormFloat>(
        _ c: Int, x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, statistics: [ChannelStatistics]
    ) -> [ScaleSums] {
        var sums = (c..<c + 4).map { ScaleSums(statistics: statistics[$0]) }
        let mean = ChannelLanes(
            sums[0].statistics.mean, sums[1].statistics.mean, sums[2].statistics.mean, sums[3].statistics.mean)
        let apart = shape.channelStride
        shape.forEachRun(ofChannel: c) { start, stride, count in
            var terms = RunLanes()
            if let dout {
                for j in 0..<count {
                    let i = start &+ j &* stride
                    terms.add(load(x, i, apart), load(dout, i, apart), mean: mean)
                }
            } else {
                for j in 0..<count { terms.add(load(x, start &+ j &* stride, apart), mean: mean) }
            }
            for lane in 0..<4 { sums[lane].add(terms.lane(lane)) }
        }
        return sums
    }

    /// Elements `i`, `i + apart`, `i + 2*apart` and `i + 3*apart`, widened exactly.
    @inline(__always)
    static func load<X: BatchNormFloat>(_ e: Elements<X>, _ i: Int, _ apart: Int) -> ChannelLanes {
        ChannelLanes(
            e[i].exactDouble, e[i &+ apart].exactDouble, e[i &+ 2 &* apart].exactDouble,
            e[i &+ 3 &* apart].exactDouble)
    }
}

/// Four channels' `RunTerms`, one in each lane; `add` is `RunTerms.add` lane by lane.
struct RunLanes {
    var absX = ChannelLanes(), absDeviationTimesX = ChannelLanes(), squaredDeviation = ChannelLanes()
    var absDout = ChannelLanes(), absDoutTimesX = ChannelLanes(), absDoutTimesDeviation = ChannelLanes()

    @inline(__always)
    mutating func add(_ value: ChannelLanes, _ gradientValue: ChannelLanes, mean: ChannelLanes) {
        let magnitude = value.laneMagnitude, deviation = (value - mean).laneMagnitude
        let gradient = gradientValue.laneMagnitude
        absX += magnitude
        absDeviationTimesX += deviation * magnitude
        squaredDeviation += deviation * deviation
        absDout += gradient
        absDoutTimesX += gradient * magnitude
        absDoutTimesDeviation += gradient * deviation
    }

    /// The terms of x alone (the one-channel loop without dout); dout's stay 0.
    @inline(__always)
    mutating func add(_ value: ChannelLanes, mean: ChannelLanes) {
        let magnitude = value.laneMagnitude, deviation = (value - mean).laneMagnitude
        absX += magnitude
        absDeviationTimesX += deviation * magnitude
        squaredDeviation += deviation * deviation
    }

    /// Lane `k`'s terms.
    func lane(_ k: Int) -> RunTerms {
        RunTerms(
            absX: absX[k], absDeviationTimesX: absDeviationTimesX[k], squaredDeviation: squaredDeviation[k],
            absDout: absDout[k], absDoutTimesX: absDoutTimesX[k], absDoutTimesDeviation: absDoutTimesDeviation[k])
    }
}

extension ElementScales {
    /// `largestOut` of channels `c ..< c + 4` (coefficients `k[0 ..< 4]`), one in each
    /// lane: a running maximum that keeps the larger where they differ and never a NaN,
    /// as `max` does, so the same value as four interleaved ones.
    static func largestOut<X: BatchNormFloat>(
        x: Elements<X>, shape: BatchNormShape, channels c: Int, _ k: [ElementScaleCoefficients]
    ) -> [Double] {
        func lanes(_ field: (ElementScaleCoefficients) -> Double) -> ChannelLanes {
            ChannelLanes(field(k[0]), field(k[1]), field(k[2]), field(k[3]))
        }
        let (outX, outDeviation, outConstant, mean) = (
            lanes(\.outX), lanes(\.outDeviation), lanes(\.outConstant), lanes(\.mean)
        )
        let apart = shape.channelStride
        var largest = ChannelLanes()
        shape.forEachRun(ofChannel: c) { start, stride, count in
            for j in 0..<count {
                let value = ScaleSums.load(x, start &+ j &* stride, apart)
                let scale = outX * value.laneMagnitude + outDeviation * (value - mean).laneMagnitude + outConstant
                largest = largest.keepingLarger(scale)
            }
        }
        return [largest[0], largest[1], largest[2], largest[3]]
    }
}

extension SIMD4 where Scalar == Double {
    /// |x| lane by lane, by clearing the sign bits (so -0 becomes +0, as `magnitude` does).
    @inline(__always)
    var laneMagnitude: Self {
        unsafeBitCast(unsafeBitCast(self, to: SIMD4<UInt64>.self) & SIMD4<UInt64>(repeating: ~(1 << 63)), to: Self.self)
    }

    /// `max(self, other)` lane by lane as `Swift.max` takes it: `other` where it is at
    /// least `self`, else `self` (so a NaN in `other` is never kept); the selection is bit
    /// operations on the comparison's mask, without a branch per lane.
    @inline(__always)
    func keepingLarger(_ other: Self) -> Self {
        let mask = unsafeBitCast(other .>= self, to: SIMD4<UInt64>.self)
        let kept =
            (unsafeBitCast(other, to: SIMD4<UInt64>.self) & mask)
            | (unsafeBitCast(self, to: SIMD4<UInt64>.self) & ~mask)
        return unsafeBitCast(kept, to: Self.self)
    }
}
