import RealModule

/// A real number known to lie within `radius` of the double-double `hi + lo`: the
/// arithmetic of the certified channel solve (``FastChannelSolve``).
///
/// Every operation returns an enclosure of the exact result of the same operation on
/// *any* reals inside its operands' enclosures. The bound is a posteriori: each step is
/// an error-free transformation (`twoSum`; `twoProduct` by fused multiply-add) whose
/// error term is either kept or, when dropped, charged at its actual magnitude, so a
/// chain of steps that happened to be exact (a constant channel, a power-of-two count,
/// dout = ones, a tie) keeps a radius of exactly zero.
///
/// The facts used, with `u = 2^-53` and round to nearest:
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
/// Magnitudes are kept between 2^-450 and 2^450 (``isTame``); the callers decline
/// anything else, so nothing overflows.
struct Enclosure: Sendable {
    var hi: Double
    var lo: Double
    var radius: Double

    static let u = 0x1p-53

    init(hi: Double, lo: Double = 0, radius: Double = 0) {
        self.hi = hi
        self.lo = lo
        self.radius = radius
    }

    /// An exact double.
    init(_ value: Double) { self.init(hi: value) }

    static var zero: Enclosure { Enclosure(hi: 0) }

    /// An upper bound on `|value|` for every value in the enclosure.
    var magnitude: Double { Self.bound(hi.magnitude, lo.magnitude, radius) }

    var isExact: Bool { radius == 0 }

    /// Whether the value part and the radius are inside the range the operations assume.
    var isTame: Bool {
        func tame(_ v: Double) -> Bool { v == 0 || (v.magnitude >= 0x1p-450 && v.magnitude <= 0x1p450) }
        return tame(hi) && radius.magnitude <= 0x1p450 && radius.isFinite && hi.isFinite && lo.isFinite
    }

    /// A safe upper bound for a sum of up to six non-negative terms computed in floating
    /// point (fixed arity: a variadic list would allocate on every operation).
    @inline(__always)
    static func bound(
        _ a: Double, _ b: Double = 0, _ c: Double = 0, _ d: Double = 0, _ e: Double = 0,
        _ f: Double = 0
    ) -> Double {
        let total = ((a + b) + (c + d)) + (e + f)
        return total == 0 ? 0 : total * (1 + 0x1p-48)
    }

    /// An upper bound on the product of two non-negative bounds, zero only when one is:
    /// the `2^-1073` covers what a rounding below the normal range can lose (and the
    /// relative part, like every computed bound, goes into ``bound(_:_:_:_:_:_:)``'s
    /// widening). Reciprocals passed in are rounded up by the same widening.
    @inline(__always)
    static func up(_ a: Double, _ b: Double) -> Double {
        a == 0 || b == 0 ? 0 : a * b * (1 + 0x1p-50) + 0x1p-1073
    }

    /// The most a rounded product or quotient `p` of `a` and `b` can be off.
    @inline(__always) static func productError(_ p: Double, _ a: Double, _ b: Double) -> Double {
        a == 0 || b == 0 ? 0 : u * p.magnitude + 0x1p-1073
    }

    static func + (a: Enclosure, b: Enclosure) -> Enclosure {
        let (s, e) = Augmented.sum(a.hi, b.hi)
        let (t1, e1) = Augmented.sum(e, a.lo)
        let (t2, e2) = Augmented.sum(t1, b.lo)
        let (h, l) = Augmented.sum(s, t2)
        return Enclosure(hi: h, lo: l, radius: bound(a.radius, b.radius, e1.magnitude, e2.magnitude))
    }

    static prefix func - (a: Enclosure) -> Enclosure { Enclosure(hi: -a.hi, lo: -a.lo, radius: a.radius) }

    static func - (a: Enclosure, b: Enclosure) -> Enclosure { a + (-b) }

    /// The product. Beyond the dropped error terms it charges the dropped `lo*lo` term
    /// and the operands' radii: `|a*b - A*B| <= |A| rb + |B| ra + ra rb` for `a` within
    /// `ra` of `A` and `b` within `rb` of `B`.
    static func * (a: Enclosure, b: Enclosure) -> Enclosure {
        if b.lo == 0 && b.radius == 0 { return a.times(exactly: b.hi) }
        if a.lo == 0 && a.radius == 0 { return b.times(exactly: a.hi) }
        let p = a.hi * b.hi, e = (-p).addingProduct(a.hi, b.hi)
        let c1 = a.hi * b.lo, f1 = (-c1).addingProduct(a.hi, b.lo)
        let c2 = a.lo * b.hi, f2 = (-c2).addingProduct(a.lo, b.hi)
        let (c, g) = Augmented.sum(c1, c2)
        let (t, h2) = Augmented.sum(e, c)
        let (h, l) = Augmented.sum(p, t)
        let am = bound(a.hi.magnitude, a.lo.magnitude), bm = bound(b.hi.magnitude, b.lo.magnitude)
        let dropped = a.lo == 0 || b.lo == 0 ? 0 : a.lo.magnitude * b.lo.magnitude + 0x1p-1073
        func nearUnderflow(_ v: Double) -> Bool { v != 0 && v.magnitude < 0x1p-900 }
        let floor = nearUnderflow(p) || nearUnderflow(c1) || nearUnderflow(c2) ? 0x1p-1070 : 0
        let propagated = bound(up(am, b.radius), up(bm, a.radius), up(a.radius, b.radius))
        let rounding = bound(f1.magnitude, f2.magnitude, g.magnitude, h2.magnitude, dropped, floor)
        return Enclosure(hi: h, lo: l, radius: bound(propagated, rounding))
    }

    /// The product with an exact double `d`: the general product's steps with the terms
    /// that `d`'s zero tail and zero radius make zero left out, so the same enclosure
    /// for about half the work (counts, weights and running statistics are exact doubles).
    @inline(__always)
    func times(exactly d: Double) -> Enclosure {
        let p = hi * d, e = (-p).addingProduct(hi, d)
        let c = lo * d, f = (-c).addingProduct(lo, d)
        let (t, h2) = Augmented.sum(e, c)
        let (h, l) = Augmented.sum(p, t)
        func nearUnderflow(_ v: Double) -> Bool { v != 0 && v.magnitude < 0x1p-900 }
        let floor = nearUnderflow(p) || nearUnderflow(c) ? 0x1p-1070 : 0
        let propagated = Self.bound(Self.up(Self.bound(d.magnitude), radius))
        let rounding = Self.bound(f.magnitude, h2.magnitude, floor)
        return Enclosure(hi: h, lo: l, radius: Self.bound(propagated, rounding))
    }

    /// A lower bound on `|value|` over the enclosure (0 if it may contain zero).
    var lowerMagnitude: Double {
        let spread = Self.bound(lo.magnitude, radius)
        let low = (hi.magnitude - spread) * (1 - 0x1p-50)
        return low > 0 ? low : 0
    }

    /// The quotient, or nil when `b` may be zero or is not well separated from it.
    ///
    /// With `q1 = fl(a.hi/b.hi)` and `R` enclosing `R* = a* - q1 b*` for the true
    /// operands, `a*/b* = q1 + R*/b*` exactly, and `q2 = fl(R.hi/b.hi)` is off from
    /// `R*/b*` by at most `(R.radius + |R.lo| + |R.hi| (|b.lo| + b.radius)/|b.hi|)/|b*|`
    /// plus its own rounding; `|b*|` is bounded below by ``lowerMagnitude``. The
    /// rounding of `q2` is not charged when the fused remainder `R.hi - q2 b.hi` is
    /// zero and `|R.hi| >= 2^-800`: a nonzero remainder is then a multiple of at least
    /// 2^-910, so a zero one is exact.
    static func / (a: Enclosure, b: Enclosure) -> Enclosure? {
        let bMin = b.lowerMagnitude
        guard b.hi != 0, bMin > b.hi.magnitude * 0.5 else { return nil }
        let q1 = a.hi / b.hi
        let r = a - Enclosure(q1) * b
        let q2 = r.hi / b.hi
        let exactStep = r.hi == 0 || (r.hi.magnitude >= 0x1p-800 && (-r.hi).addingProduct(q2, b.hi) == 0)
        let (h, l) = Augmented.sum(q1, q2)
        let shift = up(bound(b.lo.magnitude, b.radius), 1 / b.hi.magnitude)
        let spread = bound(r.radius, r.lo.magnitude, up(r.hi.magnitude, shift))
        let radius = bound(up(spread, 1 / bMin), exactStep ? 0 : productError(q2, r.hi, b.hi))
        return Enclosure(hi: h, lo: l, radius: radius)
    }

    /// `1/sqrt(value)`, or nil when the value may be zero or negative.
    ///
    /// A candidate `Y` comes from one Newton step in double-double from the double
    /// estimate; it is then verified rather than analysed: `F` encloses
    /// `f* = 1 - v* Y^2` for the true `v*`, and `1/sqrt(v*) = Y/sqrt(1 - f*)`. For
    /// `|f*| <= phi <= 2^-20` the mean value theorem gives
    /// `|1/sqrt(1 - f) - 1| <= phi/(2 (1 - phi)^(3/2)) < 0.51 phi`, so the radius is
    /// `0.51 |Y| phi`.
    var reciprocalSquareRoot: Enclosure? {
        guard hi > 0, lowerMagnitude > 0, isTame else { return nil }
        let y0 = 1 / hi.squareRoot()
        let point = Enclosure(hi: hi, lo: lo)
        let residual = Enclosure(1) - point * (Enclosure(y0) * Enclosure(y0))
        let candidate = Enclosure(y0) + Enclosure(y0 * 0.5) * residual
        let y = Enclosure(hi: candidate.hi, lo: candidate.lo)
        let f = Enclosure(1) - self * (y * y)
        let phi = f.magnitude
        guard phi <= 0x1p-20 else { return nil }
        return Enclosure(hi: y.hi, lo: y.lo, radius: Self.up(0.51 * y.magnitude, phi))
    }

    /// The enclosed value rounded once to double, as a certified ``ChannelValue``, or
    /// nil when the enclosure does not decide it.
    ///
    /// `hi` is the nearest double to `hi + lo` (the invariant), so an exact enclosure is
    /// decided at once, ties included. Otherwise every value within `radius` rounds to
    /// `hi` when `lo +- radius` stays strictly inside half the gaps
    /// to `hi`'s neighbours (compared with a margin of 2^-50 that the rounding of
    /// `lo + radius` cannot cross). The sign of `value - hi` is kept as well (see
    /// ``ChannelValue/certified(_:sticky:)``); it is needed only when `hi` could be a
    /// midpoint or the overflow threshold of a narrower format, which takes at most 25
    /// significant bits, so only then must the enclosure decide it too.
    var certifiedValue: ChannelValue? {
        guard isTame, hi.magnitude < 0x1p1000 else { return nil }
        if radius == 0 { return .certified(hi + 0.0, sticky: lo == 0 ? 0 : (lo > 0 ? 1 : -1)) }
        if hi == 0 { return nil }
        let up = (hi.nextUp - hi) * 0.5, down = (hi - hi.nextDown) * 0.5
        let margin = 1 - 0x1p-50
        guard lo + radius < up * margin, lo - radius > -down * margin else { return nil }
        let sticky: Int8
        if lo == 0 && radius == 0 {
            sticky = 0
        } else if lo - radius > 0 {
            sticky = 1
        } else if lo + radius < 0 {
            sticky = -1
        } else if hi.significantBitCount > 25 {
            sticky = 0
        } else {
            return nil
        }
        return .certified(hi + 0.0, sticky: sticky)
    }
}

extension Double {
    /// How many significant bits a finite nonzero double has.
    var significantBitCount: Int {
        let (m, _) = integerSignificandAndExponent
        let magnitude = m.magnitude
        return magnitude.bitWidth - magnitude.leadingZeroBitCount - magnitude.trailingZeroBitCount
    }
}
