/// Distances measured in units in the last place of a given format.
///
/// The classic trick reinterprets the bits of a float as an integer: for non-negative
/// values, consecutive representable numbers have consecutive bit patterns, so the
/// difference of patterns counts the values between two numbers. Here the pattern is
/// computed arithmetically from the `Double` (biased exponent times 2^(p-1) plus the
/// fraction), which yields the pattern of the *target* format, whichever it is, without
/// needing a native Float16 or bfloat16 type.
///
/// Negative values are mapped to the negated magnitude pattern, so the ordering runs
/// continuously through zero and +0 and -0 map to the same point: the distance between
/// -0 and +0 is 0 (they compare equal, and their difference is 0 in every other figure),
/// and the distance between the two smallest subnormals of opposite sign is 2.
extension FloatFormat {
    /// The bit pattern (sign bit excluded) that the magnitude `m` has in this format;
    /// `m` must be non-negative and not NaN. A value that is not representable (the
    /// caller passed float64 data as float16, say) is rounded to nearest first, so the
    /// result is still a sensible position on the grid; overflow lands on infinity.
    @inline(__always)
    func magnitudePattern(_ m: Double) -> UInt64 {
        // The two formats with native types take the hardware's own rounding and bits
        // (several times faster in the scan); the arithmetic below gives the same
        // answers and serves the formats without a native type.
        switch self {
        case .float64: return m.bitPattern
        case .float32: return UInt64(Float(m).bitPattern)
        case .float16, .bfloat16: return computedMagnitudePattern(m)
        }
    }

    @inline(__always)
    func computedMagnitudePattern(_ m: Double) -> UInt64 {
        let fractionBits = precision - 1
        let infinityPattern = UInt64((1 << exponentBits) - 1) << UInt64(fractionBits)
        if m == .infinity { return infinityPattern }
        // 1023 is binary64's exponent bias.
        let exponent = Int(m.exponentBitPattern) - 1023
        if m.exponentBitPattern == 0 || exponent < minimumExponent {
            // Subnormal in the target format (or zero): a multiple of the least nonzero
            // magnitude, and the division by that power of two is exact. Rounding up to
            // 2^(p-1) lands exactly on the smallest normal's pattern.
            return UInt64((m / leastNonzeroMagnitude).rounded(.toNearestOrEven))
        }
        // Normal: keep the top p-1 of the double's 52 fraction bits, rounding the rest
        // to nearest, ties to even, in integers (this runs once per element).
        let dropped = UInt64(Double.significandBitCount - fractionBits)
        var fraction = m.significandBitPattern >> dropped
        if dropped > 0 {
            let remainder = m.significandBitPattern & ((1 << dropped) - 1)
            let half: UInt64 = 1 << (dropped - 1)
            if remainder > half || (remainder == half && fraction & 1 == 1) { fraction += 1 }
        }
        // A fraction that rounds up to 2^(p-1) carries into the exponent, as the
        // hardware does; beyond the greatest finite value the carry reaches infinity.
        let pattern = UInt64(exponent - minimumExponent + 1) << UInt64(fractionBits) + fraction
        return min(pattern, infinityPattern)
    }

    /// Number of representable values of this format one must step through to get from
    /// `a` to `b` (0 when equal, 1 for neighbours), counting through zero and up to the
    /// infinities (the greatest finite value is 1 ulp from infinity). nil when either is NaN,
    /// since NaN has no place on the number line.
    @inline(__always)
    public func ulpDistance(_ a: Double, _ b: Double) -> UInt64? {
        if a.isNaN || b.isNaN { return nil }
        let pa = magnitudePattern(abs(a))
        let pb = magnitudePattern(abs(b))
        // Zero has no sign here, so a pair counts as "same side" when either is zero.
        let sameSide = (a.sign == b.sign) || pa == 0 || pb == 0
        if sameSide { return pa > pb ? pa - pb : pb - pa }
        // Both patterns are below 2^63 (the sign bit is excluded), so the sum fits.
        return pa + pb
    }
}
