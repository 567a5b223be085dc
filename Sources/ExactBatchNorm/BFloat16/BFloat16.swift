/// bfloat16 ("brain float"): float32's sign and 8-bit exponent with a 7-bit fraction,
/// the upper half of a float32 encoding. Precision p = 8, so u = 2^-8; the smallest
/// normal is 2^-126, the smallest subnormal 2^-133, the largest finite value
/// (2 - 2^-7) * 2^127 ≈ 3.39e38.
///
/// Every bfloat16 value is a float32 value (and a double), so widening is exact: the
/// bits moved into the upper half. Narrowing rounds once, to nearest with ties to even,
/// with gradual underflow, and overflow to infinity for magnitudes from
/// (2 - 2^-8) * 2^127 (the midpoint above the largest finite value) up.
///
/// Arithmetic goes through float32 and rounds the float32 result to bfloat16. For +,
/// -, *, / and the square root that double rounding is harmless: float32 has
/// 24 >= 2*8 + 2 significant bits, so the float32 result rounds to the same bfloat16 as
/// the exact one (Figueroa, 1995). The fused multiply-add, the conversions from double
/// and from wider types round differently (see `BFloat16+FloatingPoint.swift`), and the
/// engine's own outputs never use this arithmetic: they are rounded once from the exact
/// value through `BinaryFormat.bfloat16`.
@frozen
public struct BFloat16: Sendable, BitwiseCopyable {
    /// The encoding: sign, 8 exponent bits, 7 fraction bits.
    public var bitPattern: UInt16

    @inline(__always)
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// The value as a float32, exactly.
    @inline(__always)
    public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    /// `value` rounded to nearest, ties to even. NaN stays NaN (quieted, sign and the
    /// upper payload bits kept).
    ///
    /// On the encoding: the lower 16 bits are dropped after adding 0x7FFF plus the lowest
    /// kept bit, which rounds up exactly when the dropped part exceeds half, or equals
    /// half with an odd kept part. Float32 and bfloat16 share the exponent field, so
    /// one rule covers normal and subnormal values, and a carry out of the fraction
    /// moves to the next binade or to infinity as it should.
    @inline(__always)
    public init(roundingFloat value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// `value` rounded once to nearest, ties to even, straight from double (rounding
    /// through float32 first would be a double rounding, wrong next to midpoints).
    ///
    /// From 2^-126 up, the same rule as `init(roundingFloat:)` works on the double's
    /// encoding: drop 45 fraction bits, then move the exponent from double's bias (1023)
    /// to bfloat16's (127); a result past exponent 254 is infinity. Below 2^-126 the
    /// result is a multiple of 2^-133: the magnitude times 2^133 (exact, below 128)
    /// rounded to an integer is the encoding itself, and 128 (a carry) is the smallest
    /// normal. That integer comes from adding 2^52, whose sum the processor rounds to an
    /// integer (nearest-even, as every double addition) and whose low bits then hold it.
    /// No branches and no conversions, so loops over it vectorize.
    @inline(__always)
    public init(roundingDouble value: Double) {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 48) & 0x8000
        let magnitudeBits = bits & 0x7FFF_FFFF_FFFF_FFFF
        let magnitude = Double(bitPattern: magnitudeBits)
        let kept = (magnitudeBits &+ 0x0FFF_FFFF_FFFF &+ ((magnitudeBits >> 45) & 1)) >> 45
        let rebiasedOffset: UInt64 = (1023 - 127) << 7
        let normal = kept >= rebiasedOffset + (255 << 7) ? 0x7F80 : kept &- rebiasedOffset
        let isSmall = magnitude < 0x1p-126
        let subnormal = ((isSmall ? magnitude : 0) * 0x1p133 + 0x1p52).bitPattern & 0xFF
        let nan = 0x7FC0 | ((magnitudeBits >> 45) & 0x3F)
        let result = magnitude.isNaN ? nan : (isSmall ? subnormal : normal)
        bitPattern = sign | UInt16(truncatingIfNeeded: result)
    }
}

extension BFloat16: CustomStringConvertible, CustomDebugStringConvertible {
    /// The shortest decimal that reads back as this float32 value (and so this bfloat16).
    public var description: String { float.description }
    public var debugDescription: String { float.debugDescription }
}

extension BFloat16: Codable {
    public init(from decoder: Decoder) throws {
        self.init(roundingFloat: try Float(from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try float.encode(to: encoder)
    }
}

extension BFloat16: Hashable {
    /// Equal values hash alike: +0 and -0 are equal, as are all NaNs' failures to be.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(isZero ? 0 : bitPattern)
    }

    public static func == (a: BFloat16, b: BFloat16) -> Bool { a.float == b.float }
}

extension BFloat16 {
    /// The rounding of every real number in `[lower, upper]` when it is certain to be one
    /// bfloat16 value, for the fast path: the rounding of `lower`, and a doubt that is 0
    /// only if the whole interval rounds to it.
    ///
    /// Cheaper than two `init(roundingDouble:)`: each end goes to float32 (one
    /// conversion) and from there to bfloat16 on the bits. That second rounding is exact
    /// unless the float32 value is a bfloat16 midpoint (lower 16 bits 0x8000), because
    /// the midpoints are float32 values: a real number and its float32 rounding lie on
    /// the same side of each one. So an end that lands on a midpoint raises a doubt
    /// (the element takes the exact path), and otherwise equal roundings of the two ends
    /// prove, by monotonicity, the rounding of everything between. The ends must not be
    /// NaN (the kernel sends non-finite channels elsewhere).
    @inline(__always)
    static func certainRounding(lower: Double, upper: Double) -> (BFloat16, doubt: UInt64) {
        let low = Float(lower).bitPattern, high = Float(upper).bitPattern
        let lowRounded = (low &+ 0x7FFF &+ ((low >> 16) & 1)) >> 16
        let highRounded = (high &+ 0x7FFF &+ ((high >> 16) & 1)) >> 16
        let onMidpoint = (low & 0xFFFF == 0x8000) || (high & 0xFFFF == 0x8000)
        let doubt = UInt64(lowRounded ^ highRounded) | (onMidpoint ? 1 : 0)
        return (BFloat16(bitPattern: UInt16(truncatingIfNeeded: lowRounded)), doubt)
    }
}
