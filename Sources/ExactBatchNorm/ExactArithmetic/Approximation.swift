/// A double-double approximation `hi + lo` of an exact quantity with an absolute error
/// bound `err`.
struct Approximation: Sendable {
    var hi: Double
    var lo: Double
    var err: Double

    static let zero = Approximation(hi: 0, lo: 0, err: 0)

    /// `hi` is the value correctly rounded to double. With `doubleDouble`, `lo` is the
    /// remainder correctly rounded, and the error is at most half an ulp of `lo`;
    /// without, `lo` is 0 and the error half an ulp of `hi` — one exact rounding
    /// instead of two, which is all the double fast path can use.
    init(_ e: ExactExpression, doubleDouble: Bool) {
        hi = Double(exactly: e)
        if !hi.isFinite {
            lo = 0
            err = .infinity
            return
        }
        let rest = ExactExpression(e.a - ExactRational(exactly: hi), plus: e.b, timesSqrtOf: e.c)
        // A value that is exactly a double is charged nothing, which keeps exact zeros
        // and exact shifts exact on the fast path.
        if rest.signum == 0 {
            lo = 0
            err = 0
            return
        }
        if !doubleDouble {
            lo = 0
            err = (hi.magnitude.nextUp - hi.magnitude) * 0.5
            return
        }
        lo = Double(exactly: rest)
        err = lo.magnitude * 0x1p-53 + Double.leastNonzeroMagnitude
    }

    /// `f * sqrt(c)` from `cRounded`, `c` correctly rounded to double, with a relative
    /// error bound of 2^-50: rounding `f` and `c` (`u = 2^-53` each, the latter halved by
    /// the square root), the square root and the product (`u` each) compound to below
    /// `3.5u + O(u^2)`. Nil when a step leaves the normal range, where relative bounds
    /// fail, or `f` is zero (exact, and the caller's case).
    init?(_ f: ExactRational, timesSqrtOf cRounded: Double) {
        let fD = Double(exactly: ExactExpression(f))
        guard cRounded.isNormal, fD.isNormal else { return nil }
        let product = fD * cRounded.squareRoot()
        guard product.isNormal else { return nil }
        self.init(hi: product, lo: 0, err: product.magnitude * 0x1p-50)
    }

    /// The exact value, when it is a double.
    var exactDouble: Double? { err == 0 && lo == 0 ? hi : nil }

    init(_ r: ExactRational, doubleDouble: Bool) { self.init(ExactExpression(r), doubleDouble: doubleDouble) }

    init(hi: Double, lo: Double, err: Double) {
        self.hi = hi
        self.lo = lo
        self.err = err
    }

    /// Whether the fast path may use it: finite, and far enough from the ends of the
    /// double range that products of it with data neither overflow nor lose bits to
    /// underflow unnoticed.
    var isTame: Bool {
        hi.isFinite && (hi == 0 || (hi.magnitude > 0x1p-600 && hi.magnitude < 0x1p600))
    }
}
