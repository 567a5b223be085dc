/// The error of one computed value against the exact one, in units of u*scale.
///
/// e = |v - truth| / (u * scale), u the unit roundoff of the format the data were
/// computed in (not of the truth, which may be held in float64 for float32 data).
/// e = 1 is what a single correct rounding of the scale-sized terms can cost, so e
/// counts "roundings' worth" of error and is comparable across elements and keys.
///
/// Special cases follow from what the number means:
/// - v equal to the truth (with +0 == -0, and NaN equal to a NaN truth) has error 0,
///   whatever the scale: an exact answer is never an error.
/// - scale == 0 means every term is exactly zero, so every implementation must return
///   exactly the truth; any other value is infinitely many roundings off.
/// - Anything else not expressible (a NaN where the truth is a number, an infinity
///   against a finite truth) is +inf: no amount of rounding explains it.
///
/// The quotient is formed as (|v - truth| / scale) / u rather than with u*scale in the
/// denominator, because u*scale underflows to 0 for tiny scales in float64.
@inline(__always)
public func roundingError(value v: Double, truth: Double, scale: Double, unitRoundoff u: Double) -> Double {
    if equalsTruth(v, truth) { return 0 }
    if scale == 0 { return .infinity }
    let e = (abs(v - truth) / abs(scale)) / u
    return e.isNaN ? .infinity : e
}

/// Equality as the truth verdicts use it: IEEE equality (so +0 == -0), except that a
/// NaN reproduces a NaN truth — the exact result is undefined there and so is v.
@inline(__always)
func equalsTruth(_ v: Double, _ truth: Double) -> Bool {
    v == truth || (v.isNaN && truth.isNaN)
}
