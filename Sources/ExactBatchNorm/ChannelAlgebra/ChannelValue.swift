/// A per-channel output: an exact value to be rounded into the caller's type, a value
/// the certified solve has already rounded, or a non-finite value that the rules for
/// NaN and infinity decided.
enum ChannelValue: Sendable {
    indirect case exact(ExactExpression)
    /// The exact value `v` rounded once to double, `d`, with `sticky` the sign of `v - d`
    /// wherever it matters (else 0): what ``FastChannelSolve`` proves. Sixteen bytes in
    /// place of the big integers of an ``ExactExpression``.
    ///
    /// It decides the rounding into any narrower format `P`, because every midpoint of
    /// `P` (and its overflow threshold) is a double: if `v` lies strictly on one side of
    /// such a point, so does `d` (rounding is monotonic and the point representable), so
    /// `P(d)` is `v`'s rounding unless `d` is that point, when `sticky` says which way `v`
    /// lies from it (0: `v` is the point, a tie).
    case certified(Double, sticky: Int8)
    case special(Double)

    func rounded<P: BatchNormFloat>(as _: P.Type) -> P {
        switch self {
        case .exact(let e): return P(exactly: e)
        case .special(let d): return P(roundingDouble: d)
        case .certified(let d, let sticky): return P.rounding(d, sticky: sticky)
        }
    }
}

extension BatchNormFloat {
    /// The rounding into `Self` of a real `v` known as `d`, its rounding to double, and
    /// the sign of `v - d` (see ``ChannelValue/certified(_:sticky:)``).
    static func rounding(_ d: Double, sticky: Int8) -> Self {
        let nearest = Self(roundingDouble: d)
        if sticky == 0 || binaryFormat == .binary64 || nearest.exactDouble == d { return nearest }
        // A midpoint (or the overflow threshold) has neighbours that round apart; most
        // doubles are no such point, and two roundings say so more cheaply than the
        // neighbours below.
        if Self(roundingDouble: d.nextUp) == Self(roundingDouble: d.nextDown) { return nearest }
        // The neighbour on d's other side, and the point halfway between (the overflow
        // threshold when `nearest` is infinite).
        let other = nearest.exactDouble < d ? nearest.nextUp : nearest.nextDown
        let largest = Self.greatestFiniteMagnitude
        let midpoint =
            nearest.isInfinite
            ? (largest.exactDouble + largest.ulp.exactDouble * 0.5) * (d < 0 ? -1 : 1)
            : (nearest.exactDouble + other.exactDouble) * 0.5
        guard midpoint == d else { return nearest }
        // The neighbour above the midpoint when v lies above it, else the one below.
        let otherIsHigher = nearest < other
        return (sticky > 0) == otherIsHigher ? other : nearest
    }
}
