/// How the two values of one element relate before any tolerance is applied.
/// Non-finite values cannot be compared by difference (inf - inf is NaN), so each
/// combination gets an explicit rule and its own counter in the report.
public enum PairKind: String, Sendable, Codable {
    case finite
    case bothNaN
    case nanInAOnly
    case nanInBOnly
    /// Same infinity on both sides: equal, difference 0.
    case sameInfinity
    /// An infinity against a finite number (overflow on one side only).
    case infVsFinite
    /// +inf against -inf.
    case infOppositeSign
}

/// Every figure bnfile reports about one element. Computed by a single function so
/// the scan, the top-K list and the worst element can never disagree.
public struct ElementFigures: Sendable, Codable, Equatable {
    public var kind: PairKind
    public var matches: Bool
    /// |a - b|; NaN when a NaN is involved, +inf for an infinity against anything else.
    public var absoluteDifference: Double
    /// |a - b| / max(|b|, smallest normal): see `relativeDifference(_:reference:tiny:)`.
    public var relativeDifference: Double
    /// nil when either side is NaN.
    public var ulpDistance: UInt64?
    /// |a - b| divided by the allowance `atol + rtol*|b|`: how many tolerances away the
    /// element is. 0 for equal values, above 1 exactly for mismatches of finite pairs,
    /// +inf for non-finite disagreements or any difference under a zero allowance.
    /// Being scale-free, it ranks an element 100x beyond its own tolerance above one
    /// that is 2x beyond, whatever their magnitudes: this is the "worst element" order.
    public var excess: Double
}

extension ElementFigures {
    /// Relative difference with a floor on the denominator.
    ///
    /// The textbook |a - b| / |b| is infinite or NaN when the reference is 0 and explodes
    /// for references near 0 — the most common complaint about numpy's and onnxruntime's
    /// reports (numpy#13801): a gradient that is truly 0 comes back as 1e-8 and the report
    /// shouts "relative difference inf" or "nan", and the maximum over the array is
    /// poisoned by one zero. Flooring |b| at the smallest normal of the format makes the
    /// figure finite for every finite pair, continuous in b, and equal to the textbook
    /// value wherever the format still has full relative precision (|b| >= 2^emin; below
    /// it the grid is uniform, so "relative to b" no longer describes the format). Near a
    /// zero reference the figure is large, honestly so: relative precision is lost there,
    /// which is why `atol`, not `rtol`, decides whether such an element matches.
    @inline(__always)
    public static func relativeDifference(_ a: Double, reference b: Double, tiny: Double) -> Double {
        abs(a - b) / max(abs(b), tiny)
    }

    /// Classifies one pair and computes its figures. `a` is the candidate, `b` the reference.
    @inline(__always)
    public init(
        comparing a: Double, _ b: Double,
        format: FloatFormat, tolerance: Tolerance, equalNaN: Bool
    ) {
        // The common case of files that agree, decided without the figures' arithmetic:
        // the same bits give difference 0, relative 0, 0 ulp, excess 0, as below.
        if a.bitPattern == b.bitPattern && a.isFinite {
            self.init(
                kind: .finite, matches: true, absoluteDifference: 0, relativeDifference: 0, ulpDistance: 0,
                excess: 0)
            return
        }
        if a.isFinite && b.isFinite {
            let difference = abs(a - b)
            let allowance = tolerance.allowance(reference: b)
            let excess = difference == 0 ? 0 : (allowance > 0 ? difference / allowance : .infinity)
            self.init(
                kind: .finite,
                // Decided on the difference itself, not on `excess > 1`: the quotient can
                // round down to exactly 1 for a difference one ulp above the allowance.
                matches: difference <= allowance,
                absoluteDifference: difference,
                relativeDifference: Self.relativeDifference(a, reference: b, tiny: format.smallestNormal),
                ulpDistance: format.ulpDistance(a, b),
                excess: excess)
            return
        }
        let kind: PairKind
        if a.isNaN || b.isNaN {
            kind = a.isNaN && b.isNaN ? .bothNaN : (a.isNaN ? .nanInAOnly : .nanInBOnly)
        } else if a == b {
            kind = .sameInfinity
        } else if a.isInfinite && b.isInfinite {
            kind = .infOppositeSign
        } else {
            kind = .infVsFinite
        }
        let matches = kind == .sameInfinity || (kind == .bothNaN && equalNaN)
        let difference: Double =
            switch kind {
            case .sameInfinity: 0
            case .infVsFinite, .infOppositeSign: .infinity
            default: .nan
            }
        self.init(
            kind: kind,
            matches: matches,
            absoluteDifference: difference,
            relativeDifference: difference,
            ulpDistance: format.ulpDistance(a, b),
            excess: matches ? 0 : .infinity)
    }
}
