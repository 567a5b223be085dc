/// A per-channel output: an exact value to be rounded into the caller's type, or a
/// non-finite value that the rules for NaN and infinity decided.
enum ChannelValue: Sendable {
    case exact(ExactExpression)
    case special(Double)

    func rounded<P: BatchNormFloat>(as _: P.Type) -> P {
        switch self {
        case .exact(let e): return P(exactly: e)
        case .special(let d): return P(roundingDouble: d)
        }
    }
}

/// Everything one channel's elements need, exactly and approximately.
///
/// With `b = mB*x - S` and `a = mA*dout - T`, every element's outputs are
///
///     out = beta + (F * b) * sqrt(C)
///     dx  = (F * (a - kk * b)) * sqrt(C)
///
/// where, in training, `mB = mA = M`, `S = sum x`, `T = sum dout`, `C = 1/(var + eps)`,
/// `F = gamma/M` and `kk = D/(M (var + eps))` with `D = sum dout*(x - mean)`; this is
/// torch's `dx = gamma*invstd/M * (M*dout - dbeta - xhat*dgamma)` with the factor
/// `xhat*dgamma = (x - mean) D/(var + eps)` recognised as rational. In evaluation
/// `mB = mA = 1`, `S = running_mean`, `T = 0`, `F = gamma`, `kk = 0`.
/// Scaling `x` by the integer `M` instead of dividing the sum keeps `b` exact in the
/// fast path: for float16/float32 data, `M*x` is an exact double.
struct ElementTerms: Sendable {
    let xScale: ExactRational
    let xShift: ExactRational
    let doutScale: ExactRational
    let doutShift: ExactRational
    let factor: ExactRational
    let coupling: ExactRational
    let c: ExactRational
    let beta: ExactRational
    /// Approximations for the fast path; nil sends every element to the exact path.
    let fast: FastConstants?

    func out(x: Double) -> ExactExpression {
        let b = xScale * ExactRational(exactly: x) - xShift
        return ExactExpression(beta, plus: factor * b, timesSqrtOf: c)
    }

    func dx(x: Double, dout: Double) -> ExactExpression {
        let b = xScale * ExactRational(exactly: x) - xShift
        let a = doutScale * ExactRational(exactly: dout) - doutShift
        return ExactExpression(.zero, plus: factor * (a - coupling * b), timesSqrtOf: c)
    }
}

/// A double-double approximation `hi + lo` of an exact quantity with an absolute error
/// bound `err`.
struct Approximation: Sendable {
    var hi: Double
    var lo: Double
    var err: Double

    static let zero = Approximation(hi: 0, lo: 0, err: 0)

    /// `hi` is the value correctly rounded to double. With `doubleDouble`, `lo` is the
    /// remainder correctly rounded, and the error is at most half an ulp of `lo`;
    /// without, `lo` is 0 and the error half an ulp of `hi` — one exact rounding
    /// instead of two, which is all the double fast path can use.
    init(_ e: ExactExpression, doubleDouble: Bool) {
        hi = Double(exactly: e)
        if !hi.isFinite { lo = 0; err = .infinity; return }
        let rest = ExactExpression(e.a - ExactRational(exactly: hi), plus: e.b, timesSqrtOf: e.c)
        // A value that is exactly a double is charged nothing, which keeps exact zeros
        // and exact shifts exact on the fast path.
        if rest.signum == 0 { lo = 0; err = 0; return }
        if !doubleDouble {
            lo = 0
            err = (hi.magnitude.nextUp - hi.magnitude) * 0.5
            return
        }
        lo = Double(exactly: rest)
        err = lo.magnitude * 0x1p-53 + Double.leastNonzeroMagnitude
    }

    /// The exact value, when it is a double.
    var exactDouble: Double? { err == 0 && lo == 0 ? hi : nil }

    init(_ r: ExactRational, doubleDouble: Bool) { self.init(ExactExpression(r), doubleDouble: doubleDouble) }

    init(hi: Double, lo: Double, err: Double) {
        self.hi = hi
        self.lo = lo
        self.err = err
    }

    /// Whether the fast path may use it: finite, and far enough from the ends of the
    /// double range that products of it with data neither overflow nor lose bits to
    /// underflow unnoticed.
    var isTame: Bool {
        hi.isFinite && (hi == 0 || (hi.magnitude > 0x1p-600 && hi.magnitude < 0x1p600))
    }
}

/// The per-channel constants of the fast path (see ``ElementTerms``).
struct FastConstants: Sendable {
    var xScale: Double
    var xShift: Approximation
    var doutScale: Double
    var doutShift: Approximation
    /// `F * sqrt(C)`.
    var g: Approximation
    /// `F * kk * sqrt(C)`.
    var k2: Approximation
    /// `kk` when it is exactly a double: then `dx` is exactly zero wherever
    /// `mA*dout - T == kk*(mB*x - S)`, which the fast path can check exactly (see
    /// ``ElementKernel``). That happens whenever dout is an affine function of x in a
    /// channel, as for the loss 0.5*||out||^2.
    var coupling: Double?
    var beta: Double
}

/// What the engine knows about one channel after the exact sums.
struct ChannelSolution: Sendable {
    var mean: ChannelValue
    var invstd: ChannelValue
    var runningMean: ChannelValue
    var runningVar: ChannelValue
    var dgamma: ChannelValue?
    var dbeta: ChannelValue?
    /// nil when the channel's elements are NaN by the non-finite rules.
    var outTerms: ElementTerms?
    var dxTerms: ElementTerms?
}

extension ChannelSolution {
    /// Solves one channel exactly.
    ///
    /// Non-finite inputs: exact arithmetic is defined on finite numbers only, so a
    /// channel whose `x` holds NaN or an infinity gets NaN for everything derived from
    /// its variance (`invstd`, `out`, `dx`, `dgamma`, the running variance), while its
    /// `mean` and running mean follow IEEE summation; a non-finite `dout` makes `dbeta`
    /// the IEEE sum and `dx`, `dgamma` NaN; a non-finite `gamma` makes `out` and `dx` NaN,
    /// a non-finite `beta` makes `out` NaN. `var + eps <= 0` (possible only with
    /// `eps <= 0`) leaves `invstd` as IEEE gives it and `out`, `dx`, `dgamma` NaN.
    static func solve(channel ch: Int, sums: ChannelSums, count m: Int, mode: BatchNormMode,
                      hasDout: Bool, parameters p: ResolvedParameters, doubleDouble: Bool) -> ChannelSolution {
        let gammaD = p.gamma[ch], betaD = p.beta[ch], rmD = p.runningMean[ch], rvD = p.runningVar[ch]
        let eps = ExactRational(exactly: p.eps)
        let momentum = ExactRational(exactly: p.momentum)
        let bigM = ExactRational(m)
        let nan = ChannelValue.special(.nan)

        var dbeta: ChannelValue? = nil
        if hasDout {
            dbeta = sums.doutTally.isFinite ? .exact(ExactExpression(sums.dout.value)) : .special(sums.doutTally.ieeeSum)
        }
        let doutOK = hasDout && sums.doutTally.isFinite
        let gammaOK = gammaD.isFinite, betaOK = betaD.isFinite

        // The statistics used: batch statistics in training, running ones in evaluation.
        var mean: ChannelValue
        var meanExact: ExactRational? = nil
        var varianceExact: ExactRational? = nil      // biased, training only
        var runningMean = ChannelValue.special(rmD)
        var runningVar = ChannelValue.special(rvD)
        switch mode {
        case .training:
            if sums.xTally.isFinite {
                let s = sums.x.value
                let mu = s / bigM
                meanExact = mu
                mean = .exact(ExactExpression(mu))
                // M^2 var = M Q - S^2: one subtraction of exact integers-over-powers-of-two.
                let v = ((bigM * sums.xx.value - s * s) / (bigM * bigM)).reduced
                varianceExact = v
                if rmD.isFinite {
                    runningMean = .exact(ExactExpression((.one - momentum) * ExactRational(exactly: rmD) + momentum * mu))
                } else {
                    runningMean = .special((1 - p.momentum) * rmD + p.momentum * mu.approximateDouble)
                }
                if rvD.isFinite {
                    let unbiased = v * bigM / ExactRational(m - 1)
                    runningVar = .exact(ExactExpression((.one - momentum) * ExactRational(exactly: rvD) + momentum * unbiased))
                } else {
                    runningVar = .special((1 - p.momentum) * rvD + p.momentum * v.approximateDouble)
                }
            } else {
                let s = sums.xTally.ieeeSum
                mean = .special(s)
                runningMean = .special((1 - p.momentum) * rmD + p.momentum * s)
                runningVar = nan
            }
        case .evaluation:
            mean = .special(rmD)
            if rmD.isFinite {
                meanExact = ExactRational(exactly: rmD)
                mean = .exact(ExactExpression(meanExact!))
                runningMean = mean
            }
            if rvD.isFinite { runningVar = .exact(ExactExpression(ExactRational(exactly: rvD))) }
        }

        // v = var + eps, the quantity under the square root.
        var v: ExactRational? = nil
        var invstd = nan
        switch mode {
        case .training:
            if let variance = varianceExact { v = variance + eps }
        case .evaluation:
            if rvD.isFinite { v = ExactRational(exactly: rvD) + eps } else { invstd = .special(1 / (rvD + p.eps).squareRoot()) }
        }
        if let vv = v, vv.signum <= 0 {
            invstd = .special(1 / (vv.approximateDouble).squareRoot())
            v = nil
        }
        guard let v, let mu = meanExact else {
            return ChannelSolution(mean: mean, invstd: invstd, runningMean: runningMean, runningVar: runningVar,
                                   dgamma: hasDout ? nan : nil, dbeta: dbeta, outTerms: nil, dxTerms: nil)
        }
        let c = (.one / v).reduced
        invstd = .exact(ExactExpression(.zero, plus: .one, timesSqrtOf: c))

        // D = sum dout*(x - mean) = P - mean*T: the only coupling between the two passes.
        var coupling = ExactRational.zero
        var dgamma: ChannelValue? = nil
        if hasDout {
            if doutOK && sums.xTally.isFinite {
                let d = (sums.xDout.value - mu * sums.dout.value).reduced
                dgamma = .exact(ExactExpression(.zero, plus: d, timesSqrtOf: c))
                if mode == .training { coupling = (d / (bigM * v)).reduced }
            } else {
                dgamma = nan
            }
        }

        let training = mode == .training
        let xScale = training ? bigM : .one
        let xShift = training ? sums.x.value : mu
        let doutScale = xScale
        let doutShift = training && doutOK ? sums.dout.value : .zero
        let factor = ExactRational(exactly: gammaOK ? gammaD : 0) / xScale
        let betaR = ExactRational(exactly: betaOK ? betaD : 0)

        let fast = fastConstants(xScale: xScale, xShift: xShift, doutScale: doutScale, doutShift: doutShift,
                                 factor: factor, coupling: coupling, c: c, beta: betaD, doubleDouble: doubleDouble)
        let terms = ElementTerms(xScale: xScale, xShift: xShift, doutScale: doutScale, doutShift: doutShift,
                                 factor: factor, coupling: coupling, c: c, beta: betaR, fast: fast)
        let finiteX = training ? sums.xTally.isFinite : true
        return ChannelSolution(
            mean: mean, invstd: invstd, runningMean: runningMean, runningVar: runningVar,
            dgamma: dgamma, dbeta: dbeta,
            outTerms: gammaOK && betaOK && finiteX ? terms : nil,
            dxTerms: gammaOK && doutOK && finiteX ? terms : nil)
    }

    private static func fastConstants(xScale: ExactRational, xShift: ExactRational, doutScale: ExactRational,
                                      doutShift: ExactRational, factor: ExactRational, coupling: ExactRational,
                                      c: ExactRational, beta: Double, doubleDouble: Bool) -> FastConstants? {
        let dd = doubleDouble
        let g = Approximation(ExactExpression(.zero, plus: factor, timesSqrtOf: c), doubleDouble: dd)
        let k2 = coupling.isZero ? .zero
            : Approximation(ExactExpression(.zero, plus: (factor * coupling).reduced, timesSqrtOf: c), doubleDouble: dd)
        let s = Approximation(xShift, doubleDouble: dd)
        let t = Approximation(doutShift, doubleDouble: dd)
        guard g.isTame, k2.isTame, s.isTame, t.isTame, beta.magnitude < 0x1p600 else { return nil }
        return FastConstants(xScale: Double(exactly: ExactExpression(xScale)), xShift: s,
                             doutScale: Double(exactly: ExactExpression(doutScale)), doutShift: t,
                             g: g, k2: k2, coupling: Approximation(coupling, doubleDouble: false).exactDouble,
                             beta: beta)
    }
}
