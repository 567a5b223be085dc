/// The error of one computed value against the exact one, in units of u*scale.
///
/// e = |v - truth| / (u * scale + q), u the unit roundoff of the format the data were
/// computed in (not of the truth, which may be held in float64 for float32 data) and q
/// the format's smallest subnormal. e = 1 is what a single correct rounding of the
/// scale-sized terms can cost, so e counts "roundings' worth" of error and is
/// comparable across elements and keys.
///
/// Why q: below the normal range a rounding no longer costs a relative u but up to half
/// a subnormal step, whatever the scale. Without q, a result that lands one step of
/// 2^-149 away from a float32 subnormal truth would count as thousands of roundings; with
/// it, one step counts as about one.
///
/// Special cases follow from what the number means:
/// - v equal to the truth (with +0 == -0, and NaN equal to a NaN truth) has error 0,
///   whatever the scale: an exact answer is never an error.
/// - scale == 0 means every term is exactly zero; the error is then counted in
///   subnormal steps alone (infinite if q is 0).
/// - Anything else not expressible (a NaN where the truth is a number, an infinity
///   against a finite truth) is +inf: no amount of rounding explains it.
@inline(__always)
public func roundingError(
    value v: Double, truth: Double, scale: Double, unitRoundoff u: Double,
    subnormalStep q: Double = 0
) -> Double {
    if equalsTruth(v, truth) { return 0 }
    let difference = abs(v - truth)
    if !difference.isFinite { return .infinity }
    let allowance = u * abs(scale) + q
    if allowance == 0 {
        // u*scale can underflow for tiny float64 scales: divide in two steps instead.
        if scale == 0 { return .infinity }
        let e = (difference / abs(scale)) / u
        return e.isNaN ? .infinity : e
    }
    return difference / allowance
}

/// Equality as the truth verdicts use it: IEEE equality (so +0 == -0), except that a
/// NaN reproduces a NaN truth — the exact result is undefined there and so is v.
@inline(__always)
func equalsTruth(_ v: Double, _ truth: Double) -> Bool {
    v == truth || (v.isNaN && truth.isNaN)
}
