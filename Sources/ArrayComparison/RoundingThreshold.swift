/// How large an error, in units of u*scale, a correct implementation may show.
///
/// ## Setting
///
/// The truth engine reports, for every element, the exact value y and
/// `scale` = the sum of the magnitudes of the terms y is made of. That is the right
/// yardstick because rounding errors are committed on the terms, not on the result:
/// a value that is the small difference of large terms (x - mean when |mean| >> std)
/// legitimately carries an error proportional to the terms, and is judged by that.
///
/// ## Error analysis (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3-4)
///
/// Each correctly rounded operation returns (x op y)(1 + d) with |d| <= u. Then:
///
/// - A formula of k elementwise operations evaluated in a backward-stable way perturbs
///   each term by at most gamma_k = k*u / (1 - k*u), about k*u, so its forward error is
///   at most about k * u * scale.
/// - A sum of M terms in recursive order has error <= gamma_(M-1) * sum|x_i|, linear in M.
///   Pairwise summation lowers this to gamma_ceil(log2 M). numpy (pairwise above leaves
///   of 128, with 8 interleaved accumulators) and torch's CPU kernels (cascaded, blocked
///   sums) are of this kind: about (L + log2 M) * u per reduction, L a leaf constant.
/// - Errors in an inner reduction (mean, variance) reach the value through
///   coefficients that the engine's `scale` already includes, so to first order each
///   nested level of reduction adds its own log2 M term. Batch norm has two levels on
///   its longest path: the statistics, then the gradient sums (dbeta, dgamma) that dx uses.
///
/// Hence a worst-case bound of about (k + c * ceil(log2 M)) * u * scale, c the number of
/// nested reductions. Rounding errors are of random sign in practice, so typical errors
/// are of the order of the square root of such counts, well below the bound.
///
/// ## Default: limit(M) = 10 + 2 * ceil(log2 M)
///
/// - k = 10: the longest elementwise chain in the batch-norm formulas has about nine
///   roundings (dx = gamma*invstd/M * (M*dout - dbeta - xhat*dgamma), with invstd from
///   an addition, a square root and a division, and xhat from a subtraction and a
///   product), plus one for the final rounding when the truth is held in a wider format
///   than the data. The leaf constants L of blocked summation are left out: they are
///   worst cases built from same-sign errors, and their typical contribution (a few
///   units) fits in the same margin.
/// - c = 2: the two nested reduction levels above, each pairwise-like.
///
/// This gives 28 at M = 280 (a (8,3,5,7) tensor) and 64 at M = 10^8. What it must
/// separate, measured on this machine: torch on well-conditioned data shows 1 to 8
/// (within, with a margin of 3.5x at M = 280), while torch's float32 `out` with
/// x = 1000 + 0.01*N(0,1) shows 5,000 to 42,500 (beyond, by two orders of magnitude even
/// at M = 10^8) — that is the cancellation in `x*alpha + beta'`, an unstable algorithm,
/// exactly what the verdict is meant to expose. A constant channel (248 in `out`) is the
/// same instability and is flagged too.
///
/// An implementation summing in a plain loop has a worst-case error linear in M and a
/// typical one of the order of sqrt(M) (hundreds of u*scale at M = 10^6). Above the
/// threshold it is flagged, deliberately: that loss of accuracy is real, and pairwise
/// summation, or accumulating in double, removes it at no cost.
///
/// The rule is a default, not a theorem: `RoundingThreshold(operations:reductionLevels:)`
/// changes the constants and `.fixed(_:)` sets the limit outright.
public struct RoundingThreshold: Sendable, Codable, Equatable {
    /// k: elementwise roundings allowed.
    public var operations: Double
    /// c: multiplier of ceil(log2 M), the number of nested pairwise reductions.
    public var reductionLevels: Double
    /// When set, the limit regardless of M.
    public var fixedLimit: Double?

    public init(operations: Double, reductionLevels: Double) {
        self.operations = operations
        self.reductionLevels = reductionLevels
        self.fixedLimit = nil
    }

    public static let standard = RoundingThreshold(operations: 10, reductionLevels: 2)

    public static func fixed(_ limit: Double) -> RoundingThreshold {
        var threshold = RoundingThreshold(operations: limit, reductionLevels: 0)
        threshold.fixedLimit = limit
        return threshold
    }

    /// The largest acceptable error in u*scale for values reduced over M terms each
    /// (values per channel in batch norm).
    public func limit(valuesPerChannel m: Int) -> Double {
        if let fixedLimit { return fixedLimit }
        return operations + reductionLevels * Double(Self.ceilLog2(m))
    }

    /// The rule as a reader would write it, for reports.
    public var rule: String {
        if let fixedLimit { return "fixed \(NumberText.compact(fixedLimit))" }
        return "\(NumberText.compact(operations)) + \(NumberText.compact(reductionLevels))*ceil(log2(M))"
    }

    /// ceil(log2 m) for m >= 1, 0 for m <= 1 (a single term is not reduced at all).
    static func ceilLog2(_ m: Int) -> Int {
        m <= 1 ? 0 : Int.bitWidth - (m - 1).leadingZeroBitCount
    }
}
