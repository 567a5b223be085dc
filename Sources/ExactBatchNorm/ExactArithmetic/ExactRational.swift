import BigInt

/// An exact rational number `numerator / denominator` with a positive denominator.
///
/// Every input of batch normalization is a binary floating-point number, so every
/// quantity the engine needs — channel sums, the biased variance, `var + eps`, the
/// running-statistics updates — is a rational number that can be held exactly. Only
/// `1/sqrt(var + eps)` is irrational, and ``ExactExpression`` handles that factor
/// symbolically, so nothing here ever rounds.
///
/// Fractions are not reduced to lowest terms: a gcd costs more than the few extra bits
/// it saves in the short chains of operations the engine performs.
struct ExactRational: Sendable {
    var numerator: BigInt
    var denominator: BigInt

    init(_ numerator: BigInt, _ denominator: BigInt = 1) {
        precondition(!denominator.isZero, "zero denominator")
        if denominator.sign == .minus {
            self.numerator = -numerator
            self.denominator = -denominator
        } else {
            self.numerator = numerator
            self.denominator = denominator
        }
    }

    init(_ value: Int) { self.init(BigInt(value)) }

    /// The exact value of a finite binary floating-point number.
    init(exactly value: Double) {
        precondition(value.isFinite, "only finite values are rational")
        let (significand, exponent) = value.integerSignificandAndExponent
        self.init(dyadic: BigInt(significand), exponent: exponent)
    }

    /// `significand * 2^exponent`, kept as an integer over a power of two.
    init(dyadic significand: BigInt, exponent: Int) {
        if exponent >= 0 {
            self.init(significand << exponent)
        } else {
            self.init(significand, BigInt(1) << -exponent)
        }
    }

    /// The same value with the powers of two common to numerator and denominator
    /// removed. Every denominator the engine builds is a power of two times a power of
    /// `M`, so this keeps the numbers short at the cost of two bit scans — unlike a
    /// full gcd.
    var reduced: ExactRational {
        if numerator.isZero { return ExactRational(BigInt(0)) }
        let shift = min(numerator.trailingZeroBitCount, denominator.trailingZeroBitCount)
        if shift == 0 { return self }
        return ExactRational(numerator >> shift, denominator >> shift)
    }

    static let zero = ExactRational(BigInt(0))
    static let one = ExactRational(BigInt(1))

    var isZero: Bool { numerator.isZero }
    var signum: Int { numerator.isZero ? 0 : (numerator.sign == .minus ? -1 : 1) }

    static func + (a: ExactRational, b: ExactRational) -> ExactRational {
        if a.denominator == b.denominator { return ExactRational(a.numerator + b.numerator, a.denominator) }
        return ExactRational(
            a.numerator * b.denominator + b.numerator * a.denominator,
            a.denominator * b.denominator)
    }

    static prefix func - (a: ExactRational) -> ExactRational {
        ExactRational(-a.numerator, a.denominator)
    }

    static func - (a: ExactRational, b: ExactRational) -> ExactRational { a + (-b) }

    static func * (a: ExactRational, b: ExactRational) -> ExactRational {
        ExactRational(a.numerator * b.numerator, a.denominator * b.denominator)
    }

    static func / (a: ExactRational, b: ExactRational) -> ExactRational {
        precondition(!b.isZero, "division by zero")
        return ExactRational(a.numerator * b.denominator, a.denominator * b.numerator)
    }

    /// Multiplication by `2^k`, which only moves bits between numerator and denominator.
    func timesPowerOfTwo(_ k: Int) -> ExactRational {
        if k >= 0 { return ExactRational(numerator << k, denominator) }
        return ExactRational(numerator, denominator << -k)
    }

    /// The sign of `a - b`, by cross-multiplication (denominators are positive).
    static func compare(_ a: ExactRational, _ b: ExactRational) -> Int {
        let lhs = a.numerator * b.denominator
        let rhs = b.numerator * a.denominator
        return lhs < rhs ? -1 : (lhs > rhs ? 1 : 0)
    }

    /// `floor(self)` and whether `self` is an integer.
    var floorAndExactness: (floor: BigInt, exact: Bool) {
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        // BigInt division truncates toward zero; step down for negative non-integers.
        if r.isZero { return (q, true) }
        return (numerator.sign == .minus ? q - 1 : q, false)
    }

    /// An estimate of `log2|self|`, within one of the truth; used only to pick a
    /// starting scale for exact searches, never to decide a rounding.
    var approximateLog2: Int {
        numerator.magnitude.bitWidth - denominator.magnitude.bitWidth
    }

    /// The nearest double, for diagnostics and error-scale estimates only.
    var approximateDouble: Double {
        if numerator.isZero { return 0 }
        let shift = numerator.magnitude.bitWidth - denominator.magnitude.bitWidth - 64
        let scaled = shift >= 0 ? numerator / (denominator << shift) : (numerator << -shift) / denominator
        return Double(
            sign: numerator.sign == .minus ? .minus : .plus,
            exponent: shift,
            significand: Double(scaled.magnitude))
    }
}

extension Double {
    /// `(m, e)` with `self == m * 2^e` exactly and `m` an integer of at most 53 bits.
    var integerSignificandAndExponent: (Int64, Int) {
        if self == 0 { return (0, 0) }
        let bits = Int64(bitPattern: self.significandBitPattern)
        let m: Int64
        let e: Int
        if exponentBitPattern == 0 {
            m = bits
            e = -1074
        } else {
            m = bits | (Int64(1) << 52)
            e = Int(exponentBitPattern) - 1075
        }
        return (sign == .minus ? -m : m, e)
    }
}
