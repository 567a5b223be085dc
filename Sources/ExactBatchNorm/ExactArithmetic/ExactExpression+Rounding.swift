import BigInt

/// The parameters of an IEEE 754 binary format that decide rounding.
public struct BinaryFormat: Sendable, Equatable {
    /// Significand bits including the implicit one.
    public var precision: Int
    /// Exponent of the smallest normal number.
    public var minExponent: Int
    /// Exponent of the largest finite number.
    public var maxExponent: Int

    public static let binary16 = BinaryFormat(precision: 11, minExponent: -14, maxExponent: 15)
    /// bfloat16: float32's exponent range with an 8-bit significand.
    public static let bfloat16 = BinaryFormat(precision: 8, minExponent: -126, maxExponent: 127)
    public static let binary32 = BinaryFormat(precision: 24, minExponent: -126, maxExponent: 127)
    public static let binary64 = BinaryFormat(precision: 53, minExponent: -1022, maxExponent: 1023)
}

/// The result of rounding an exact value once to a binary format.
enum RoundedValue: Sendable, Equatable {
    case zero(negative: Bool)
    /// `(-1)^negative * significand * 2^exponent`, `significand < 2^precision`.
    case finite(negative: Bool, significand: UInt64, exponent: Int)
    case infinity(negative: Bool)
    case nan
}

extension ExactExpression {
    /// Rounds the exact value once, to nearest with ties to even, into `format`,
    /// with gradual underflow and overflow to infinity as IEEE 754 prescribes.
    ///
    /// An exact zero rounds to +0; a nonzero value too small for the format keeps its
    /// sign (-0 for negative values), as a correctly rounded operation would.
    func rounded(to format: BinaryFormat, exponentHint: Int? = nil) -> RoundedValue {
        let sign = signum
        if sign == 0 { return .zero(negative: false) }
        let magnitude = sign < 0 ? negated : self
        let negative = sign < 0
        // Guess the binary exponent, then let one exact evaluation confirm or correct
        // it: floor(|v| 2^k) = n > 0 fixes the exponent as bitWidth(n) - 1 - k. With a
        // good guess (the usual case) the rounding costs one evaluation.
        var e = exponentHint ?? magnitude.estimatedExponent
        var step = 16
        var n = BigInt(0)
        var exact = false
        var quantum = 0
        while true {
            // The quantum (weight of the last significand bit) of the result; fixed at
            // the subnormal quantum below the normal range.
            quantum = max(e, format.minExponent) - (format.precision - 1)
            // Two extra bits (guard and round) plus the exactness flag (sticky).
            (n, exact) = magnitude.floorScaled(by: 2 - quantum)
            if n > 0 {
                let found = n.magnitude.bitWidth - 1 - (2 - quantum)
                if max(found, format.minExponent) == max(e, format.minExponent) { break }
                e = found
            } else if e <= format.minExponent {
                break  // below half the least subnormal quantum: rounds to zero
            } else {
                // Cancellation made the value far smaller than the guess: search down.
                e -= step
                step *= 2
            }
        }
        var significand = n >> 2
        let rest = Int(n & 3)
        let oddLast = significand.magnitude.words.first.map { $0 & 1 == 1 } ?? false
        if rest == 3 || (rest == 2 && (!exact || oddLast)) { significand += 1 }
        if significand.isZero { return .zero(negative: negative) }
        var s = UInt64(significand.magnitude)
        var q = quantum
        if s == UInt64(1) << format.precision {
            s >>= 1
            q += 1
        }
        if q + format.precision - 1 > format.maxExponent { return .infinity(negative: negative) }
        return .finite(negative: negative, significand: s, exponent: q)
    }
}
