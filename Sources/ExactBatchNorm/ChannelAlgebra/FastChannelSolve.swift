/// The per-channel algebra of ``ChannelSolution`` in certified double-double arithmetic:
/// the same values from the same exact sums, proven rounded without big integers.
///
/// Every quantity is an ``Enclosure``: a double-double with a rigorous bound on its
/// distance from the exact real value the big-rational path computes (means, variance,
/// `var + eps`, `invstd`, `D = P - mean*T`, the coupling `D/(M (var + eps))`, the
/// running statistics and the element kernel's constants). A per-channel output is
/// kept only if its enclosure decides its rounding to double and, where a narrower
/// format could need it, the side of that double the exact value lies on
/// (``Enclosure/certifiedValue``); the kernel's constants need only their enclosures,
/// which the fast element paths already treat as values with error bounds. Whenever
/// something is not decided — a value on or next to a rounding boundary, a cancellation
/// deeper than double-double can follow (`|mean|/std` beyond about 2^40), magnitudes
/// outside [2^-450, 2^450], a non-finite input — the channel returns nil and takes the
/// exact path, so the bits never depend on which path ran.
///
/// Cost: about forty double-double operations per channel, against tens of microseconds
/// of big-integer algebra, and no allocation: the exact element terms are made only if
/// an element of the channel needs them (``SolvedChannels``).
enum FastChannelSolve {
    /// The channel's solution and the element pass's constants, or nil when the exact
    /// path must decide.
    static func solve(
        channel ch: Int, sums: ChannelSums, count m: Int, mode: BatchNormMode,
        hasDout: Bool, parameters p: ResolvedParameters
    ) -> (solution: ChannelSolution, fast: FastConstants?)? {
        let gamma = p.gamma[ch], beta = p.beta[ch], rm = p.runningMean[ch], rv = p.runningVar[ch]
        guard gamma.isFinite, beta.isFinite, rm.isFinite, rv.isFinite, sums.xTally.isFinite,
            !hasDout || sums.doutTally.isFinite
        else { return nil }
        guard
            let stats = statistics(
                sums: sums, count: m, mode: mode, hasDout: hasDout, parameters: p,
                runningMean: rm, runningVar: rv),
            let invstd = stats.v.reciprocalSquareRoot
        else { return nil }
        var dgamma: ChannelValue? = nil, dbeta: ChannelValue? = nil
        var coupling = Enclosure.zero
        if let d = stats.d, let t = stats.t {
            guard let g = (d * invstd).certifiedValue, let b = t.certifiedValue else { return nil }
            (dgamma, dbeta) = (g, b)
            if mode == .training {
                guard let k = d / (stats.scale * stats.v) else { return nil }
                coupling = k
            }
        }
        guard let mean = stats.mean.certifiedValue, let inv = invstd.certifiedValue,
            let runningMean = stats.runningMean.certifiedValue, let runningVar = stats.runningVar.certifiedValue,
            let fast = constants(stats, invstd: invstd, coupling: coupling, gamma: gamma, beta: beta)
        else { return nil }
        let solution = ChannelSolution(
            mean: mean, invstd: inv, runningMean: runningMean, runningVar: runningVar,
            dgamma: dgamma, dbeta: dbeta, terms: nil, fastBox: nil,
            hasOutTerms: true, hasDxTerms: hasDout, xFinite: true, isCertified: true)
        return (solution, fast)
    }

    /// What both modes reduce to: the mean used, `v = var + eps`, the running
    /// statistics after the step, `x`'s scale and shift in `b = scale*x - shift`, and
    /// with `dout` its shift `T` and `D = P - mean*T`.
    struct Statistics {
        var mean: Enclosure
        var v: Enclosure
        var runningMean: Enclosure
        var runningVar: Enclosure
        var scale: Enclosure
        var shift: Enclosure
        var t: Enclosure?
        var d: Enclosure?
        /// `T` in training, 0 in evaluation.
        var doutShift = Enclosure.zero
    }

    static func statistics(
        sums: ChannelSums, count m: Int, mode: BatchNormMode, hasDout: Bool,
        parameters p: ResolvedParameters, runningMean rm: Double,
        runningVar rv: Double
    ) -> Statistics? {
        let eps = Enclosure(p.eps)
        var stats: Statistics
        switch mode {
        case .training:
            let bigM = Enclosure(Double(m))
            guard let s = sums.x.enclosure, let q = sums.xx.enclosure, let mean = s / bigM,
                let variance = (bigM * q - s * s) / (bigM * bigM)
            else { return nil }
            let unbiased = p.runningVariance == .unbiased
            guard let stored = unbiased ? (variance * bigM) / Enclosure(Double(m - 1)) : variance else { return nil }
            let (keep, take) = weights(p)
            stats = Statistics(
                mean: mean, v: variance + eps,
                runningMean: keep * Enclosure(rm) + take * mean,
                runningVar: keep * Enclosure(rv) + take * stored,
                scale: bigM, shift: s)
        case .evaluation:
            stats = Statistics(
                mean: Enclosure(rm), v: Enclosure(rv) + eps, runningMean: Enclosure(rm),
                runningVar: Enclosure(rv), scale: Enclosure(1), shift: Enclosure(rm))
        }
        if hasDout {
            guard let t = sums.dout.enclosure, let pp = sums.xDout.enclosure else { return nil }
            stats.t = t
            switch mode {
            case .training:
                // D = (M P - S T)/M: products of exact sums, so that dout = ones (P = S,
                // T = M) gives D = 0 with no rounding to bound.
                guard let d = (stats.scale * pp - stats.shift * t) / stats.scale else { return nil }
                stats.d = d
                stats.doutShift = t
            case .evaluation:
                stats.d = pp - stats.mean * t
            }
        }
        return stats
    }

    /// The momentum convention's weights `(keep, take)`; `1 - m` is exact in
    /// double-double (a two-sum of doubles).
    static func weights(_ p: ResolvedParameters) -> (keep: Enclosure, take: Enclosure) {
        let m = Enclosure(p.momentum), rest = Enclosure(1) - m
        switch p.momentumConvention {
        case .torch: return (rest, m)
        case .keras: return (m, rest)
        }
    }

    /// The element kernel's constants (see ``ElementTerms``): `g = F*invstd` and
    /// `k2 = F*kk*invstd` with `F = gamma/scale`, the shifts `S` (or the running mean)
    /// and `T` (0 in evaluation), each as a double-double with its bound; the coupling
    /// `kk` for the exact-cancellation check when it is exactly a double.
    static func constants(
        _ stats: Statistics, invstd: Enclosure, coupling: Enclosure, gamma: Double,
        beta: Double
    ) -> FastConstants? {
        guard let factor = Enclosure(gamma) / stats.scale else { return nil }
        let g = factor * invstd
        let k2 = (factor * coupling) * invstd
        func approximation(_ e: Enclosure) -> Approximation? {
            let a = Approximation(hi: e.hi, lo: e.lo, err: e.radius)
            return e.isTame && a.isTame ? a : nil
        }
        guard let ga = approximation(g), let ka = approximation(k2), let sa = approximation(stats.shift),
            let ta = approximation(stats.doutShift), beta.magnitude < 0x1p600
        else { return nil }
        let exactCoupling = coupling.isExact && coupling.lo == 0 ? coupling.hi : nil
        return FastConstants(
            xScale: stats.scale.hi, xShift: sa, doutScale: stats.scale.hi, doutShift: ta,
            g: ga, k2: ka, coupling: exactCoupling, beta: beta)
    }
}
