/// Four doubles: one lane per channel of the certified solve (a SIMD4<Double> fills an
/// AVX2 register).
typealias LaneValues = SIMD4<Double>
/// The lanes in which something holds.
typealias LaneMask = SIMDMask<SIMD4<Int64>>

/// Four ``Enclosure``s side by side, one per lane: the arithmetic of the certified
/// channel solve (``FastChannelSolve``), on four channels at once and without branches.
///
/// Lane contract: every operation performs, in each lane, exactly the floating-point
/// operations the analysis below prescribes for one enclosure, in the same order, with
/// the same constants, so a lane's `hi`, `lo` and `radius` are the bits that analysis
/// gives for that lane's operands, whatever the other lanes hold. Where the analysis
/// chooses (a bound that is zero when a factor is, a floor that applies near underflow),
/// both sides are computed and the lane's own condition selects. Where the analysis has
/// no enclosure to give (a divisor that may be zero, a root of what may be negative, a
/// value whose rounding is not decided), the operation still computes something in
/// every lane and returns a mask that is false exactly in the lanes where the analysis
/// gives up; the caller must not trust a lane whose mask is false, and the values
/// there (possibly infinite or NaN) never reach another lane.
///
/// The analysis, with `u = 2^-53` and round to nearest. Every operation returns an
/// enclosure of the exact result of the same operation on *any* reals inside its
/// operands' enclosures. The bound is a posteriori: each step is an error-free
/// transformation (``twoSum(_:_:)``; the product's remainder by fused multiply-add)
/// whose error term is either kept or, when dropped, charged at its actual magnitude, so
/// a chain of steps that happened to be exact (a constant channel, a power-of-two count,
/// dout = ones, a tie) keeps a radius of exactly zero.
/// - `twoSum(a, b)` returns `s = fl(a + b)` and `e` with `s + e = a + b` exactly.
/// - `fma(a, b, -fl(a*b))` is the exact remainder of the product whenever that is
///   representable, which it is unless the product is within 2^53 of the underflow
///   threshold; tame operands (below) leave only the low parts of double-doubles that
///   close, and there a floor of 2^-1070 covers the loss.
/// - Computed bounds are sums of at most six non-negative terms, each a product of at
///   most three roundings (``up(_:_:)``, which also adds 2^-1073 against underflow, so
///   that a nonzero bound never rounds to zero), multiplied by `1 + 2^-48`, which
///   outweighs the `(1 - u)^8` their own roundings can lose: a computed bound is never
///   below the true one.
/// - Invariant: `hi` is `hi + lo` rounded to nearest (every result's last step is a
///   `twoSum`), so an exact enclosure (`radius == 0`) says on which side of `hi`, or on
///   it, its value lies: the sign of `lo`.
///
/// Magnitudes are kept between 2^-450 and 2^450 (``isTame``); the callers decline any
/// lane outside, so nothing a caller keeps has overflowed.
struct EnclosureLanes {
    var hi: LaneValues
    var lo: LaneValues
    var radius: LaneValues

    static let u = 0x1p-53

    init(hi: LaneValues, lo: LaneValues = .zero, radius: LaneValues = .zero) {
        self.hi = hi
        self.lo = lo
        self.radius = radius
    }

    /// Exact doubles, one per lane.
    init(_ values: LaneValues) { self.init(hi: values) }

    /// The same exact double in every lane.
    init(_ value: Double) { self.init(hi: LaneValues(repeating: value)) }

    /// `e` in every lane.
    init(repeating e: Enclosure) {
        self.init(
            hi: LaneValues(repeating: e.hi), lo: LaneValues(repeating: e.lo),
            radius: LaneValues(repeating: e.radius))
    }

    static var zero: EnclosureLanes { EnclosureLanes(hi: .zero) }

    /// Lane `k` as one enclosure.
    subscript(lane k: Int) -> Enclosure {
        get { Enclosure(hi: hi[k], lo: lo[k], radius: radius[k]) }
        set {
            hi[k] = newValue.hi
            lo[k] = newValue.lo
            radius[k] = newValue.radius
        }
    }

    /// The value part alone, as exact enclosures.
    var point: EnclosureLanes { EnclosureLanes(hi: hi, lo: lo) }

    /// An upper bound on `|value|` for every value in each lane's enclosure.
    @inline(__always)
    var magnitude: LaneValues { Self.bound(hi.magnitude, lo.magnitude, radius) }

    /// The lanes whose radius is zero.
    var isExact: LaneMask { radius .== 0 }

    /// The lanes whose value part and radius are inside the range the operations
    /// assume: `hi` zero or of magnitude in [2^-450, 2^450], the radius at most 2^450,
    /// `lo` finite (NaN fails every comparison, so it is never tame).
    @inline(__always)
    var isTame: LaneMask {
        let h = hi.magnitude
        let tameHi = (hi .== 0) .| ((h .>= 0x1p-450) .& (h .<= 0x1p450))
        return tameHi .& (radius.magnitude .<= 0x1p450) .& (lo.magnitude .< .infinity)
    }

    /// A safe upper bound for a sum of up to six non-negative terms computed in floating
    /// point (fixed arity: a variadic list would allocate on every operation).
    @inline(__always)
    static func bound(
        _ a: LaneValues, _ b: LaneValues = .zero, _ c: LaneValues = .zero, _ d: LaneValues = .zero,
        _ e: LaneValues = .zero, _ f: LaneValues = .zero
    ) -> LaneValues {
        let total = ((a + b) + (c + d)) + (e + f)
        return (total * (1 + 0x1p-48)).replacing(with: 0, where: total .== 0)
    }

    /// An upper bound on the product of two non-negative bounds, zero only when one is:
    /// the `2^-1073` covers what a rounding below the normal range can lose (and the
    /// relative part, like every computed bound, goes into ``bound(_:_:_:_:_:_:)``'s
    /// widening). Reciprocals passed in are rounded up by the same widening.
    @inline(__always)
    static func up(_ a: LaneValues, _ b: LaneValues) -> LaneValues {
        (a * b * (1 + 0x1p-50) + 0x1p-1073).replacing(with: 0, where: (a .== 0) .| (b .== 0))
    }

    /// The most a rounded product or quotient `p` of `a` and `b` can be off.
    @inline(__always)
    static func productError(_ p: LaneValues, _ a: LaneValues, _ b: LaneValues) -> LaneValues {
        (u * p.magnitude + 0x1p-1073).replacing(with: 0, where: (a .== 0) .| (b .== 0))
    }

    /// Knuth's two-sum, in swift-numerics' `Augmented.sum`'s order of operations:
    /// `head = fl(a + b)` and `head + tail = a + b` exactly.
    @inline(__always)
    static func twoSum(_ a: LaneValues, _ b: LaneValues) -> (head: LaneValues, tail: LaneValues) {
        let head = a + b
        let x = head - b
        let y = head - x
        return (head, (a - x) + (b - y))
    }

    /// The exact remainder `a*b - p` of a rounded product `p` (see the analysis above).
    @inline(__always)
    static func remainder(_ p: LaneValues, _ a: LaneValues, _ b: LaneValues) -> LaneValues {
        p.negated.addingProduct(a, b)
    }

    /// The lanes holding a nonzero value below 2^-900, whose product remainders may
    /// underflow.
    @inline(__always)
    static func nearUnderflow(_ v: LaneValues) -> LaneMask { (v .!= 0) .& (v.magnitude .< 0x1p-900) }

    @inline(__always)
    static func + (a: EnclosureLanes, b: EnclosureLanes) -> EnclosureLanes {
        let (s, e) = twoSum(a.hi, b.hi)
        let (t1, e1) = twoSum(e, a.lo)
        let (t2, e2) = twoSum(t1, b.lo)
        let (h, l) = twoSum(s, t2)
        return EnclosureLanes(hi: h, lo: l, radius: bound(a.radius, b.radius, e1.magnitude, e2.magnitude))
    }

    @inline(__always)
    static prefix func - (a: EnclosureLanes) -> EnclosureLanes {
        EnclosureLanes(hi: a.hi.negated, lo: a.lo.negated, radius: a.radius)
    }

    @inline(__always)
    static func - (a: EnclosureLanes, b: EnclosureLanes) -> EnclosureLanes { a + (-b) }

    /// The product. Beyond the dropped error terms it charges the dropped `lo*lo` term
    /// and the operands' radii: `|a*b - A*B| <= |A| rb + |B| ra + ra rb` for `a` within
    /// `ra` of `A` and `b` within `rb` of `B`. When an operand is exact in a lane, the
    /// terms its zero tail and zero radius contribute are zeros, so the lane gets
    /// ``times(exactly:)``'s bits.
    @inline(__always)
    static func * (a: EnclosureLanes, b: EnclosureLanes) -> EnclosureLanes {
        let p = a.hi * b.hi, e = remainder(p, a.hi, b.hi)
        let c1 = a.hi * b.lo, f1 = remainder(c1, a.hi, b.lo)
        let c2 = a.lo * b.hi, f2 = remainder(c2, a.lo, b.hi)
        let (c, g) = twoSum(c1, c2)
        let (t, h2) = twoSum(e, c)
        let (h, l) = twoSum(p, t)
        let am = bound(a.hi.magnitude, a.lo.magnitude), bm = bound(b.hi.magnitude, b.lo.magnitude)
        let dropped = (a.lo.magnitude * b.lo.magnitude + 0x1p-1073).replacing(
            with: 0, where: (a.lo .== 0) .| (b.lo .== 0))
        let floor = LaneValues.zero.replacing(
            with: 0x1p-1070, where: nearUnderflow(p) .| nearUnderflow(c1) .| nearUnderflow(c2))
        let propagated = bound(up(am, b.radius), up(bm, a.radius), up(a.radius, b.radius))
        let rounding = bound(f1.magnitude, f2.magnitude, g.magnitude, h2.magnitude, dropped, floor)
        return EnclosureLanes(hi: h, lo: l, radius: bound(propagated, rounding))
    }

    /// The product with exact doubles `d`, one per lane: the general product's steps with
    /// the terms that `d`'s zero tail and zero radius make zero left out, so the same
    /// enclosure for about half the work (counts, weights and running statistics are
    /// exact doubles).
    @inline(__always)
    func times(exactly d: LaneValues) -> EnclosureLanes {
        let p = hi * d, e = Self.remainder(p, hi, d)
        let c = lo * d, f = Self.remainder(c, lo, d)
        let (t, h2) = Self.twoSum(e, c)
        let (h, l) = Self.twoSum(p, t)
        let floor = LaneValues.zero.replacing(
            with: 0x1p-1070, where: Self.nearUnderflow(p) .| Self.nearUnderflow(c))
        let propagated = Self.bound(Self.up(Self.bound(d.magnitude), radius))
        let rounding = Self.bound(f.magnitude, h2.magnitude, floor)
        return EnclosureLanes(hi: h, lo: l, radius: Self.bound(propagated, rounding))
    }

    /// A lower bound on `|value|` over each lane's enclosure (0 if it may contain zero).
    @inline(__always)
    var lowerMagnitude: LaneValues {
        let spread = Self.bound(lo.magnitude, radius)
        let low = (hi.magnitude - spread) * (1 - 0x1p-50)
        return low.replacing(with: 0, where: .!(low .> 0))
    }

    /// The quotient, valid in the lanes where `b` is well separated from zero.
    ///
    /// With `q1 = fl(a.hi/b.hi)` and `R` enclosing `R* = a* - q1 b*` for the true
    /// operands, `a*/b* = q1 + R*/b*` exactly, and `q2 = fl(R.hi/b.hi)` is off from
    /// `R*/b*` by at most `(R.radius + |R.lo| + |R.hi| (|b.lo| + b.radius)/|b.hi|)/|b*|`
    /// plus its own rounding; `|b*|` is bounded below by ``lowerMagnitude``, which must
    /// exceed `|b.hi|/2`. The rounding of `q2` is not charged when the fused remainder
    /// `R.hi - q2 b.hi` is zero and `|R.hi| >= 2^-800`: a nonzero remainder is then a
    /// multiple of at least 2^-910, so a zero one is exact.
    @inline(__always)
    static func / (a: EnclosureLanes, b: EnclosureLanes) -> (quotient: EnclosureLanes, valid: LaneMask) {
        let bMin = b.lowerMagnitude
        let valid = (b.hi .!= 0) .& (bMin .> b.hi.magnitude * 0.5)
        let q1 = a.hi / b.hi
        let r = a - b.times(exactly: q1)
        let q2 = r.hi / b.hi
        let exactStep =
            (r.hi .== 0) .| ((r.hi.magnitude .>= 0x1p-800) .& (remainder(r.hi, q2, b.hi) .== 0))
        let (h, l) = twoSum(q1, q2)
        let shift = up(bound(b.lo.magnitude, b.radius), 1 / b.hi.magnitude)
        let spread = bound(r.radius, r.lo.magnitude, up(r.hi.magnitude, shift))
        let stepError = productError(q2, r.hi, b.hi).replacing(with: 0, where: exactStep)
        let radius = bound(up(spread, 1 / bMin), stepError)
        return (EnclosureLanes(hi: h, lo: l, radius: radius), valid)
    }

    /// `1/sqrt(value)`, valid in the lanes where the value is surely positive and tame.
    ///
    /// A candidate `Y` comes from one Newton step in double-double from the double
    /// estimate; it is then verified rather than analysed: `F` encloses
    /// `f* = 1 - v* Y^2` for the true `v*`, and `1/sqrt(v*) = Y/sqrt(1 - f*)`. For
    /// `|f*| <= phi <= 2^-20` the mean value theorem gives
    /// `|1/sqrt(1 - f) - 1| <= phi/(2 (1 - phi)^(3/2)) < 0.51 phi`, so the radius is
    /// `0.51 |Y| phi`.
    @inline(__always)
    var reciprocalSquareRoot: (root: EnclosureLanes, valid: LaneMask) {
        let y0 = 1 / hi.squareRoot()
        let residual = EnclosureLanes(1) - point * EnclosureLanes(y0).times(exactly: y0)
        let candidate = EnclosureLanes(y0) + residual.times(exactly: y0 * 0.5)
        let y = candidate.point
        let phi = (EnclosureLanes(1) - self * (y * y)).magnitude
        let valid = (hi .> 0) .& (lowerMagnitude .> 0) .& isTame .& (phi .<= 0x1p-20)
        return (EnclosureLanes(hi: y.hi, lo: y.lo, radius: Self.up(0.51 * y.magnitude, phi)), valid)
    }
}

extension SIMD4 where Scalar == Double {
    /// The lanes' bit patterns.
    @inline(__always) var bitPattern: SIMD4<UInt64> { unsafeBitCast(self, to: SIMD4<UInt64>.self) }

    @inline(__always) init(bitPattern: SIMD4<UInt64>) { self = unsafeBitCast(bitPattern, to: Self.self) }

    /// Each lane's magnitude: its sign bit cleared.
    @inline(__always) var magnitude: Self { Self(bitPattern: bitPattern & 0x7FFF_FFFF_FFFF_FFFF) }

    /// Each lane negated: its sign bit flipped, as scalar negation does. (The standard
    /// library's `-v` on vectors is `0 - v`, which turns +0 into +0, not -0, and the
    /// sign of a zero reaches later sums.)
    @inline(__always) var negated: Self { Self(bitPattern: bitPattern ^ 0x8000_0000_0000_0000) }
}
