/// A batch-norm formula with the forward mistakes a diagnosis model injects. The
/// default is the correct formula (two-pass statistics over the channel's values,
/// invstd = 1/sqrt(var + eps)).
struct FormulaVariant: Sendable {
    /// How invstd is formed from the variance.
    enum Invstd: Sendable {
        /// 1/sqrt(var + eps).
        case standard
        /// 1/(sqrt(var) + eps): eps-outside-sqrt.
        case epsOutsideSqrt
        /// 1/sqrt(var*M/(M-1) + eps): unbiased-variance.
        case unbiased
        /// 1/sqrt(var + e) with another eps: wrong-eps, for choosing the estimate.
        case eps(Double)
        /// Given per channel (fitted from the candidate): unstable-variance.
        case given([Double])
    }

    var grouping: StatisticsGrouping = .channel
    var invstd: Invstd = .standard
    /// xhat rounded to this format (with the ambiguity of the candidate's own rounding
    /// of xhat, see `ReducedPrecision`): reduced-precision.
    var xhatPrecision: ReducedPrecision? = nil
    /// For var = E[x^2] - E[x]^2 differentiated as written (autodiff of Flax's fast
    /// variance): dvar/dx_i = 2*x_i/M - 2*mean/M cancels in working precision W, so the
    /// variance's term of dx_i, dL/dvar * dvar/dx_i with |dL/dvar| = s^2*|gamma*dgamma|/2,
    /// is uncertain by s^2*|gamma*dgamma| * c * (|x_i| + |mean|)/M, c = limit*u_W.
    var varianceCancellation: Double? = nil
    /// Per channel: whether the variance was clamped at 0 (Flax's max(0, ...)), whose
    /// derivative autodiff takes as 0 and a hand-written backward does not: dx_i is then
    /// uncertain by its whole variance term, |gamma*s/M * xhat_i * dgamma|.
    var clampedVariance: [Bool]? = nil
}

/// A format narrower than the computation's, into which an implementation rounds xhat.
struct ReducedPrecision: Sendable {
    enum Format: String, Sendable { case float16, bfloat16 }
    var format: Format
    /// The candidate's own error in xhat may reach `ambiguity * S_xhat` (the limit times
    /// its working u, times xhat's first-order error scale). Where xhat lies closer than
    /// that to a midpoint of `format`, the candidate may round it either way, and both
    /// are faithful simulations: the model holds the interval between them.
    var ambiguity: Double

    /// Round to nearest even into `format`. float16 uses Swift's own conversion (with
    /// subnormals); bfloat16 keeps 8 significant bits over float32's exponent range
    /// (its subnormals, below 1e-38, do not occur in xhat).
    func round(_ v: Double) -> Double {
        switch format {
        case .float16: return Double(Float16(v))
        case .bfloat16:
            guard v.isFinite, v != 0 else { return v }
            let step = Double(sign: .plus, exponent: v.exponent - 7, significand: 1)
            return (v / step).rounded(.toNearestOrEven) * step
        }
    }
}
