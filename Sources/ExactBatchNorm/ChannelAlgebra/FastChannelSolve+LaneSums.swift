/// The certified solve's operands summed straight from the data, four adjacent channels
/// in the four lanes, with no exact accumulator: the path of channels-last data with few
/// values per channel (BatchNorm1d's (N, C), a deep NHWC layer), where making, reading
/// and releasing four exact accumulators a channel cost more than the rest of its solve.
///
/// The solve needs enclosures, not exact sums (``EnclosureLanes``): a double-double and
/// a bound on its distance from the exact sum. Each sum is accumulated in three parts
/// by error-free transformations. With `p_i` the addends (`x`, `x^2`, `dout`, `x*dout`,
/// each exact in double when the data has at most 26 significant bits,
/// ``ChannelSummation/productsAreExactInDouble(_:)``):
/// - `head` is the running sum, each step a ``EnclosureLanes/twoSum(_:_:)`` whose error
///   `e_i` goes to the tail, so `head + sum e_i` is the exact sum;
/// - `tail` sums the `e_i` the same way, its own step errors `r_i` going to `lost`, so
///   `head + tail + sum r_i` is the exact sum;
/// - `lost` sums `|r_i|` in plain floating point.
///
/// The enclosure is `twoSum(head, tail)` (exact, and its head is its sum rounded, the
/// lanes' invariant) with radius `lost * (1 + 2^-40)`: a recursive sum of `n`
/// non-negative terms is below the true one by at most a factor `1 - (n - 1) u`, and
/// with `n <= 4096` terms and the product's own rounding that is less than `2^-40`.
/// Addition never underflows harmfully (a sum in the subnormal range is exact), and
/// addends from these types are at least 2^-298 in magnitude when nonzero, so no bound
/// is lost to underflow; magnitudes stay below 2^270, far from overflow. The bound is a
/// posteriori: when every tail step is exact — values a few dozen binades apart, as in
/// every channel of real data — the radius is exactly zero and the enclosure is the
/// exact sum, so the exact cases the solve relies on (dout = ones making `D` zero, a
/// constant channel) stay exact.
///
/// A non-finite value makes its lane's sums non-finite, which ``EnclosureLanes/isTame``
/// declines, sending the channel to the exact path as the accumulators' tallies do.
extension FastChannelSolve.Inputs {
    /// The shape must be one the lanes take (``LaneSums/applies(_:shape:)``).
    init<X: BatchNormFloat>(
        lanesOf channels: Range<Int>, x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape,
        mode: BatchNormMode, parameters p: borrowing ResolvedParameters
    ) {
        self.init(channels: channels, parameters: p)
        let sums = LaneSums(channels: channels, x: x, dout: dout, shape: shape, training: mode == .training)
        let s = sums.x.enclosure
        valid .&= s.isTame
        if mode == .training {
            (self.x, xx) = (s, sums.xx.enclosure)
        }
        if dout != nil {
            (self.dout, xDout) = (sums.dout.enclosure, sums.xDout.enclosure)
        }
        valid .&= xx.isTame .& self.dout.isTame .& xDout.isTame
    }
}

/// The four sums of a group of adjacent channels, a channel per lane (see
/// ``FastChannelSolve/Inputs/init(lanesOf:x:dout:shape:mode:parameters:)``).
struct LaneSums {
    var x = CompensatedLanes()
    var xx = CompensatedLanes()
    var dout = CompensatedLanes()
    var xDout = CompensatedLanes()

    /// The most values a channel may have for the bound's constant to hold.
    static let maxCount = 4096

    /// Whether the lanes can sum channels of `shape` holding `X`: channels adjacent in
    /// memory, at most ``maxCount`` values a channel, products exact in double.
    /// Channels-first data with small planes would need four planes read a value at a
    /// time; on (4,2048,7,7) that cost 2000 instructions a channel more than the
    /// one-pass integer sums (``OnePassSummation``) with their accumulators.
    static func applies<X: BatchNormFloat>(_: X.Type, shape: BatchNormShape) -> Bool {
        shape.channelStride == 1 && shape.valuesPerChannel <= maxCount
            && ChannelSummation.productsAreExactInDouble(X.self)
    }

    /// Reads the `M` values of each of `channels` (at most four; a short group repeats
    /// its last channel in the spare lanes) and sums what the mode's solve uses: `S`
    /// and `Q` in training only, `T` and `P` where there is `dout`; the rest stay zero.
    /// Evaluation still needs a sum that a non-finite `x` makes non-finite, so that the
    /// channel declines its lane: `P` with `dout` (`x*dout` is NaN or infinite for any
    /// `dout` when `x` is), `S` without.
    /// Channels last, a channel's values lie in rows of `C`: value `r` of channel `c` is
    /// element `r * C + c`. One loop for each combination, the branches outside.
    @inline(__always)
    init<X: BatchNormFloat>(
        channels: Range<Int>, x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, training: Bool
    ) {
        let load = Loader<X>(channels), rows = shape.valuesPerChannel, rowStride = shape.channels
        switch (dout, training) {
        case (let dout?, true):
            for r in 0..<rows { add(x: load(x, r * rowStride), dout: load(dout, r * rowStride)) }
        case (let dout?, false):
            for r in 0..<rows {
                let d = load(dout, r * rowStride)
                self.dout.add(d)
                xDout.add(load(x, r * rowStride) * d)
            }
        case (nil, true):
            for r in 0..<rows {
                let v = load(x, r * rowStride)
                self.x.add(v)
                xx.add(v * v)
            }
        case (nil, false):
            for r in 0..<rows { self.x.add(load(x, r * rowStride)) }
        }
    }

    @inline(__always)
    mutating func add(x v: LaneValues, dout d: LaneValues) {
        x.add(v)
        xx.add(v * v)
        dout.add(d)
        xDout.add(v * d)
    }

    /// Reads one step's lanes, as doubles: a vector load for a whole group, else one
    /// value of each channel (the last repeated in a short group, whose neighbours may
    /// lie past the end of the data).
    struct Loader<X: BatchNormFloat> {
        let first: Int
        let last: Int

        init(_ channels: Range<Int>) { (first, last) = (channels.lowerBound, channels.count - 1) }

        @inline(__always)
        func callAsFunction(_ e: Elements<X>, _ at: Int) -> LaneValues {
            let row = e + (at + first)
            if last == 3 { return X.widened(row.base.loadUnaligned(as: SIMD4<X>.self)) }
            return X.widened(SIMD4<X>(row[0], row[min(1, last)], row[min(2, last)], row[min(3, last)]))
        }
    }
}

/// A sum of doubles in four lanes kept as head, tail and a bound on what the tail lost
/// (see ``FastChannelSolve/Inputs/init(lanesOf:x:dout:shape:mode:parameters:)``).
struct CompensatedLanes {
    var head = LaneValues.zero
    var tail = LaneValues.zero
    var lost = LaneValues.zero

    @inline(__always)
    mutating func add(_ value: LaneValues) {
        let (h, e) = EnclosureLanes.twoSum(head, value)
        let (t, r) = EnclosureLanes.twoSum(tail, e)
        (head, tail) = (h, t)
        lost += r.magnitude
    }

    /// The exact sum of everything added, as an enclosure, for at most
    /// ``LaneSums/maxCount`` additions.
    @inline(__always)
    var enclosure: EnclosureLanes {
        let (h, l) = EnclosureLanes.twoSum(head, tail)
        return EnclosureLanes(hi: h, lo: l, radius: lost * (1 + 0x1p-40))
    }
}
