import CMultiplyAdd

/// The fast path for float16, bfloat16 and float32 data with outputs of those types:
/// plain double arithmetic whose error bound is worked out once per channel.
///
/// ``FastFormulas`` carries an error bound through every operation of every element,
/// which costs more than the arithmetic it checks. For data of at most 24 significant
/// bits the bound can be written down in advance as a function of the two centred
/// values alone. With `u = 2^-53`, constants `g`, `k2` (off from the true values by at
/// most `gE`, `k2E`), shifts `S`, `T` (off by `sE`, `tE`), and each step `a*b + c` a
/// multiply-add that the compiler may fuse (one rounding) or not (two):
///
///     b = fl(mB*x - S)            |b - b*| <= u|b| + sE
///     a = fl(mA*dout - T)         |a - a*| <= u|a| + tE
///     out = fl(g*b + beta)        |out - out*| <= (3u|g| + 2gE)|b| + u|beta| + (|g| + gE) sE
///     dx = fl(g*a - fl(k2*b))     |dx - dx*| <= (3u|g| + 2gE)|a| + (3u|k2| + 2k2E)|b|
///                                               + (|g| + gE) tE + (|k2| + k2E) sE
///
/// where starred values are exact. `mB*x` and `mA*dout` are exact doubles (a count
/// below 2^29 times at most 24 significant bits; ``ChannelBound/init(_:scale:)``), so the first two
/// lines hold either way; in the last two an unfused step rounds the product `g*b` or
/// `g*a` once more, which the third `u|g|` covers. So the bound holds for code compiled
/// for any processor, and the loops vectorize everywhere, fused where the target has
/// the instruction. The steps are `bn_multiply_add` (CMultiplyAdd): Swift's
/// `addingProduct` always fuses (a library call without the instruction, which keeps a
/// loop from vectorizing), and `Relaxed.multiplyAdd` also licenses reassociation, which
/// no step-by-step bound survives. Because the compiler may fuse a step in one loop and
/// not in another, the fix-up loop rewrites every element it evaluates rather than
/// trusting that it doubts the same ones as the fast loop
/// (``ElementRun/settleDoubts(formulas:constants:channel:solved:out:dx:)``; the
/// `pairs_f32` case holds eight elements an optimized build once left wrong that way).
/// Each bound is `slope*|centred| + floor`: one or two multiply-adds per element
/// instead of about a dozen operations. The constants also absorb the rounding of the
/// interval's ends `v -+ E` (a further `4u` times the magnitudes) and of the bound's own
/// evaluation (a relative `2^-40`), so the computed ends always enclose the true value,
/// and equal roundings of the ends prove the answer exactly as in
/// ``DoubleArithmetic/round(_:err:as:)``.
///
/// Underflow. Float16, bfloat16 (multiples of 2^-133) and float32 values are multiples
/// of 2^-149, and so are `M*x`, the exact sums `S`, `T` and their doubles whenever the
/// shifts are too (always in training; checked here, since in evaluation `S` is the
/// running mean). Then a nonzero `a` or `b`
/// is at least 2^-149, every product with a tame constant is a normal number, and the
/// only subnormal rounding left, of a final sum, loses at most 2^-1075: an extra slope of
/// 2^-900 covers it whenever a centred value is nonzero, while exact zeros keep a zero
/// bound and stay on the fast path (dout = ones gives `a = 0` and `k2 = 0`). Shifts off
/// that grid get an absolute floor instead.
///
/// Signed zeros. The true value 0 rounds to +0; adding +0.0 to a result turns the -0
/// that IEEE can produce from signed zero operands into +0 without changing anything else.
struct ChannelBoundFormulas: ElementFormulas {
    /// `mB` and `mA`, the same for every channel.
    let scale: Double
    let bound: ChannelBound

    /// Whether the bound above holds for data of type `X`: at most 24 significant bits
    /// and no exponent below float32's, so that every value is a multiple of 2^-149
    /// (float16, bfloat16, float32). The output's rounding only has to be correct and
    /// monotonic, which every `init(roundingDouble:)` is.
    static func applies<X: BatchNormFloat, Output: BatchNormFloat>(data _: X.Type, output _: Output.Type) -> Bool {
        X.binaryFormat.precision <= 24 && Output.binaryFormat.precision <= 24
    }

    @inline(__always)
    func centred(_ x: Double) -> Double { bn_multiply_add(scale, x, -bound.xShift) }

    @inline(__always)
    func out<Output: BatchNormFloat>(_ b: Double, as _: Output.Type) -> (Output, doubt: UInt64) {
        let o = bn_multiply_add(bound.g, b, bound.beta) + 0.0
        return Self.round(o, err: bn_multiply_add(bound.outSlope, b.magnitude, bound.outFloor), as: Output.self)
    }

    @inline(__always)
    func dx<Output: BatchNormFloat>(_ b: Double, dout: Double, as _: Output.Type) -> (Output, doubt: UInt64) {
        let a = bn_multiply_add(scale, dout, -bound.doutShift)
        let d = bn_multiply_add(bound.g, a, -(bound.k2 * b)) + 0.0
        let e = bn_multiply_add(
            bound.dxSlopeA, a.magnitude, bn_multiply_add(bound.dxSlopeB, b.magnitude, bound.dxFloor))
        return Self.round(d, err: e, as: Output.self)
    }

    /// `v` rounded into `Output`, certain when both ends of `v -+ err` round alike (the
    /// widening is already in `err`): the doubt is the XOR of the two encodings. The data
    /// must be finite (the kernel sends channels with a non-finite `x` elsewhere), so
    /// that `v` and `err` are.
    /// bfloat16 outputs take `BFloat16.certainRounding`, a cheaper test of the same fact.
    @inline(__always)
    static func round<Output: BatchNormFloat>(_ v: Double, err: Double, as _: Output.Type) -> (Output, doubt: UInt64) {
        if Output.self == BFloat16.self {
            let (rounded, doubt) = BFloat16.certainRounding(lower: v - err, upper: v + err)
            return (unsafeBitCast(rounded, to: Output.self), doubt)
        }
        let lower = Output(roundingDouble: v - err)
        let upper = Output(roundingDouble: v + err)
        return (lower, lower.encoding ^ upper.encoding)
    }
}

/// One channel's constants of ``ChannelBoundFormulas`` and its error bound, worked out
/// once from the channel's ``FastConstants``: ten doubles, what the element pass keeps
/// per channel for such data.
struct ChannelBound: Sendable {
    let xShift: Double, doutShift: Double
    let g: Double, k2: Double, beta: Double
    /// `|out error| <= outSlope*|b| + outFloor`.
    let outSlope: Double, outFloor: Double
    /// `|dx error| <= dxSlopeA*|a| + dxSlopeB*|b| + dxFloor`.
    let dxSlopeA: Double, dxSlopeB: Double, dxFloor: Double

    static let zero = ChannelBound(
        xShift: 0, doutShift: 0, g: 0, k2: 0, beta: 0, outSlope: 0, outFloor: 0, dxSlopeA: 0, dxSlopeB: 0, dxFloor: 0)

    private init(
        xShift: Double, doutShift: Double, g: Double, k2: Double, beta: Double, outSlope: Double,
        outFloor: Double, dxSlopeA: Double, dxSlopeB: Double, dxFloor: Double
    ) {
        (self.xShift, self.doutShift, self.g, self.k2, self.beta) = (xShift, doutShift, g, k2, beta)
        (self.outSlope, self.outFloor) = (outSlope, outFloor)
        (self.dxSlopeA, self.dxSlopeB, self.dxFloor) = (dxSlopeA, dxSlopeB, dxFloor)
    }

    /// The bound of a channel with constants `f`, when both of their scales are `scale`
    /// and it keeps `mB*x` and `mA*dout` exact in double for such data (below 2^29);
    /// else nil.
    init?(_ f: FastConstants, scale: Double) {
        guard f.xScale == scale, f.doutScale == scale, scale.magnitude < 0x1p29 else { return nil }
        let u = 0x1p-53
        let (gv, gE) = DoubleArithmetic.value(f.g)
        let (kv, kE) = DoubleArithmetic.value(f.k2)
        let (s, sE) = DoubleArithmetic.value(f.xShift)
        let (t, tE) = DoubleArithmetic.value(f.doutShift)
        let gM = gv.magnitude, kM = kv.magnitude, betaM = f.beta.magnitude
        let onGrid = Self.isOnDataGrid(s) && Self.isOnDataGrid(t)
        // A term whose constant is exactly zero is exact and can round nothing below the
        // normal range, so it gets no underflow slope: dout = ones (a = 0, k2 = 0) keeps a
        // zero bound.
        let gUnderflow = onGrid && gv != 0 ? 0x1p-900 : 0
        let kUnderflow = onGrid && kv != 0 ? 0x1p-900 : 0
        let floorUnderflow = onGrid ? 0 : 0x1p-1070
        // 3u|g| + 2gE for the error, 4u|g| for the rounding of the ends; likewise below.
        let widen = 1 + 0x1p-40
        self.init(
            xShift: s, doutShift: t, g: gv, k2: kv, beta: f.beta + 0.0,
            outSlope: (7 * u * gM + 2 * gE + gUnderflow) * widen,
            outFloor: (5 * u * betaM + (gM + gE) * sE + floorUnderflow) * widen,
            dxSlopeA: (7 * u * gM + 2 * gE + gUnderflow) * widen,
            dxSlopeB: (8 * u * kM + 2 * kE + kUnderflow) * widen,
            dxFloor: ((gM + gE) * tE + (kM + kE) * sE + floorUnderflow) * widen)
    }

    /// Whether `v` is a multiple of 2^-149 (the constants are tame, so the scaling is exact).
    static func isOnDataGrid(_ v: Double) -> Bool {
        let scaled = v * 0x1p149
        return scaled == scaled.rounded(.towardZero)
    }
}
