import BigInt

/// A real number of the form `a + b * sqrt(c)` with rational `a`, `b`, `c` (`c >= 0`).
///
/// Every output of batch normalization has this shape. With `v = var + eps`:
/// `out = beta + (gamma * (x - mean)) * sqrt(1/v)`, `dx = (rational) * sqrt(1/v)`,
/// `dgamma = (rational) * sqrt(1/v)`, `invstd = sqrt(1/v)`, and the means, `dbeta` and
/// the running statistics are plain rationals (`b = 0`). Keeping the square root
/// symbolic is what lets the engine decide every rounding exactly: any comparison
/// between such a number and a rational reduces to comparing squares of rationals.
struct ExactExpression: Sendable {
    var a: ExactRational
    var b: ExactRational
    var c: ExactRational

    init(_ a: ExactRational, plus b: ExactRational = .zero, timesSqrtOf c: ExactRational = .zero) {
        precondition(c.signum >= 0, "square root of a negative number")
        self.a = a
        self.b = b
        self.c = c
    }

    /// The sign of the value, decided exactly.
    var signum: Int {
        let sa = a.signum
        let sb = c.isZero ? 0 : b.signum
        if sa == 0 { return sb }
        if sb == 0 || sa == sb { return sa }
        // Opposite signs: compare a^2 with b^2 c.
        let cmp = ExactRational.compare(a * a, b * b * c)
        return cmp == 0 ? 0 : (cmp > 0 ? sa : sb)
    }

    /// `floor(value * 2^k)` and whether `value * 2^k` is exactly that integer.
    ///
    /// With `A = a 2^k`, `B = b 2^k` and `R = B^2 c`, `isqrt(floor(R))` brackets
    /// `sqrt(R)` between consecutive integers; the floor of `A +- sqrt(R)` is then one of
    /// two candidates, and one exact comparison of squares picks it.
    func floorScaled(by k: Int) -> (floor: BigInt, exact: Bool) {
        let bigA = a.timesPowerOfTwo(k)
        if c.isZero || b.isZero { return bigA.floorAndExactness }
        let bigB = b.timesPowerOfTwo(k)
        let r = bigB * bigB * c
        let (floorR, _) = r.floorAndExactness
        let z = floorR.integerSquareRoot()
        let (floorA, _) = bigA.floorAndExactness
        if bigB.signum > 0 {
            // value = A + sqrt(R) lies in [floorA + z, floorA + z + 2).
            var n = floorA + z
            let t = ExactRational(n + 1) - bigA  // positive
            if ExactRational.compare(r, t * t) >= 0 { n += 1 }
            let gap = ExactRational(n) - bigA  // sqrt(R) == gap exactly?
            let exact = gap.signum >= 0 && ExactRational.compare(r, gap * gap) == 0
            return (n, exact)
        } else {
            // value = A - sqrt(R) lies in (A - z - 1, A - z].
            var n = floorA - z
            let t = bigA - ExactRational(n)  // fraction(A) + z, non-negative
            if ExactRational.compare(r, t * t) > 0 { n -= 1 }
            let gap = bigA - ExactRational(n)  // sqrt(R) == A - n exactly?
            let exact = gap.signum >= 0 && ExactRational.compare(r, gap * gap) == 0
            return (n, exact)
        }
    }

    /// A guess at `floor(log2 |value|)` from the sizes of the parts; wrong only by a
    /// little, or by a lot under cancellation, and never trusted without a check.
    var estimatedExponent: Int {
        let fromA = a.isZero ? Int.min / 2 : a.approximateLog2
        let fromB = (b.isZero || c.isZero) ? Int.min / 2 : b.approximateLog2 + c.approximateLog2 / 2
        return max(fromA, fromB)
    }

    var negated: ExactExpression { ExactExpression(-a, plus: -b, timesSqrtOf: c) }
}
