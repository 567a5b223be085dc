/// What the engine knows about one channel after the exact sums.
struct ChannelSolution: Sendable {
    var mean: ChannelValue
    var invstd: ChannelValue
    var runningMean: ChannelValue
    var runningVar: ChannelValue
    var dgamma: ChannelValue?
    var dbeta: ChannelValue?
    /// The exact element terms; nil when the certified solve made the channel, which
    /// leaves them to ``SolvedChannels/exactSolution(_:)`` should an element need them.
    var terms: ElementTerms?
    /// The fast element path's constants as the exact solve rounds them; only the
    /// solutions ``SolvedChannels/exactSolution(_:)`` makes keep them (their exactly
    /// known coupling decides cancellations), by reference. The solve hands them to the
    /// element plan beside the solution instead
    /// (``solve(group:sums:count:mode:hasDout:parameters:doubleDouble:fastPath:certified:_:)``),
    /// so the solutions kept for the per-channel results hold none.
    var fastBox: FastConstantsBox?
    /// Whether `out` and `dx` have terms; false when they are NaN by the non-finite rules.
    var hasOutTerms: Bool
    var hasDxTerms: Bool
    /// Whether every `x` of the channel is finite. In evaluation the terms exist even when
    /// it is not (each non-finite element is NaN), and the fast path must check elements.
    var xFinite = true
    /// Whether ``FastChannelSolve`` made it (for tests and measurements).
    var isCertified = false

    var fast: FastConstants? {
        get { fastBox?.value }
        set { fastBox = newValue.map(FastConstantsBox.init) }
    }
}

/// ``FastConstants`` by reference.
final class FastConstantsBox: Sendable {
    let value: FastConstants
    init(_ value: FastConstants) { self.value = value }
}

extension ChannelSolution {
    /// Solves a group of channels (at most ``FastChannelSolve/width``, whose sums start
    /// at `sums`): by ``FastChannelSolve``, four at once, where it can prove every
    /// rounding, else — a lane it leaves undecided — exactly
    /// (``solveExactly(channel:sums:count:mode:hasDout:parameters:doubleDouble:fastPath:)``),
    /// and hands each channel's index, solution and element constants (nil sends every
    /// element to the exact path) to `body`, in order. The two paths give the same bits;
    /// `certified: false` forces the exact one, as does `fastPath: false` (which sends
    /// every element to the exact path too, and so needs the exact terms at once).
    static func solve(
        group: Range<Int>, sums: UnsafePointer<ChannelSums>, count m: Int, mode: BatchNormMode,
        hasDout: Bool, parameters p: ResolvedParameters, doubleDouble: Bool,
        fastPath: Bool = true, certified: Bool = true,
        _ body: (Int, SolvedChannel, FastConstants?) -> Void
    ) {
        solve(
            group: group, count: m, mode: mode, hasDout: hasDout, parameters: p, doubleDouble: doubleDouble,
            fastPath: fastPath, certified: certified, sums: { sums[$0] },
            lanes: {
                FastChannelSolve.solve(
                    channels: group, sums: sums, count: m, mode: mode, hasDout: hasDout, parameters: p)
            }, body)
    }

    /// The same for channels whose lanes sum them from the data
    /// (``FastChannelSolve/Inputs/init(lanesOf:x:dout:shape:mode:parameters:)``); only a
    /// channel the lanes leave undecided is summed exactly, alone.
    static func solve<X: BatchNormFloat>(
        group: Range<Int>, x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        parameters p: ResolvedParameters, doubleDouble: Bool, _ body: (Int, SolvedChannel, FastConstants?) -> Void
    ) {
        let m = shape.valuesPerChannel, hasDout = dout != nil
        solve(
            group: group, count: m, mode: mode, hasDout: hasDout, parameters: p, doubleDouble: doubleDouble,
            sums: { k in
                let c = group.lowerBound + k
                return ChannelSummation.sums(
                    x: x, dout: dout, shape: shape, channels: c..<c + 1, training: mode == .training, threads: 1)[0]
            },
            lanes: {
                let inputs = FastChannelSolve.Inputs(
                    lanesOf: group, x: x, dout: dout, shape: shape, mode: mode, parameters: p)
                return FastChannelSolve.solve(inputs, count: m, mode: mode, hasDout: hasDout, parameters: p)
            }, body)
    }

    /// The group's lanes from `lanes` and, for each lane they leave undecided, the exact
    /// solve from the channel's exact sums (`sums(k)` for the group's `k`th channel).
    @inline(__always)
    static func solve(
        group: Range<Int>, count m: Int, mode: BatchNormMode, hasDout: Bool, parameters p: ResolvedParameters,
        doubleDouble: Bool, fastPath: Bool = true, certified: Bool = true,
        sums: (Int) -> ChannelSums, lanes: () -> FastChannelSolve.GroupSolution,
        _ body: (Int, SolvedChannel, FastConstants?) -> Void
    ) {
        func exactly(_ k: Int) {
            var solution = solveExactly(
                channel: group.lowerBound + k, sums: sums(k), count: m, mode: mode, hasDout: hasDout,
                parameters: p, doubleDouble: doubleDouble, fastPath: fastPath)
            let fast = solution.fast
            solution.fastBox = nil
            body(group.lowerBound + k, .whole(solution), fast)
        }
        guard fastPath && certified else {
            for k in 0..<group.count { exactly(k) }
            return
        }
        let solved = lanes()
        for k in 0..<group.count {
            guard let channel = solved.channel(k) else {
                exactly(k)
                continue
            }
            body(group.lowerBound + k, .compact(channel.solution), channel.fast)
        }
    }

    /// Solves one channel exactly, in big rationals.
    ///
    /// Non-finite inputs: exact arithmetic is defined on finite numbers only, so a
    /// channel whose `x` holds NaN or an infinity gets NaN for everything derived from
    /// its variance (`invstd`, `out`, `dx`, `dgamma`, the running variance), while its
    /// `mean` and running mean follow IEEE summation; a non-finite `dout` makes `dbeta`
    /// the IEEE sum and `dx`, `dgamma` NaN; a non-finite `gamma` makes `out` and `dx` NaN,
    /// a non-finite `beta` makes `out` NaN. `var + eps <= 0` (possible only with
    /// `eps <= 0`) leaves `invstd` as IEEE gives it and `out`, `dx`, `dgamma` NaN.
    static func solveExactly(
        channel ch: Int, sums: ChannelSums, count m: Int, mode: BatchNormMode,
        hasDout: Bool, parameters p: ResolvedParameters, doubleDouble: Bool,
        fastPath: Bool = true
    ) -> ChannelSolution {
        let statistics = ExactStatistics(channel: ch, sums: sums, count: m, mode: mode, parameters: p)
        var dbeta: ChannelValue? = nil
        if hasDout {
            dbeta =
                sums.doutTally.isFinite ? .exact(ExactExpression(sums.dout.value)) : .special(sums.doutTally.ieeeSum)
        }
        let (underRoot, invstdIfNotExact) = statistics.underRoot(runningVar: p.runningVar[ch], eps: p.eps)
        guard let v = underRoot, let mu = statistics.meanExact else {
            return ChannelSolution(
                mean: statistics.mean, invstd: invstdIfNotExact,
                runningMean: statistics.runningMean, runningVar: statistics.runningVar,
                dgamma: hasDout ? .special(.nan) : nil, dbeta: dbeta, terms: nil, fastBox: nil,
                hasOutTerms: false, hasDxTerms: false)
        }
        let c = (.one / v).reduced
        let invstd = ChannelValue.exact(ExactExpression(.zero, plus: .one, timesSqrtOf: c))
        let doutFinite = hasDout && sums.doutTally.isFinite
        let (dgamma, coupling) = gradientCoupling(
            sums: sums, mean: mu, underRoot: v, c: c, count: m, mode: mode,
            hasDout: hasDout, doutFinite: doutFinite)
        let gammaD = p.gamma[ch], betaD = p.beta[ch]
        let (terms, fast) = elementTerms(
            sums: sums, mean: mu, coupling: coupling, c: c, count: m, mode: mode,
            doutFinite: doutFinite, gamma: gammaD, beta: betaD,
            doubleDouble: doubleDouble, fastPath: fastPath)
        let finiteX = mode == .training ? sums.xTally.isFinite : true
        return ChannelSolution(
            mean: statistics.mean, invstd: invstd, runningMean: statistics.runningMean,
            runningVar: statistics.runningVar, dgamma: dgamma, dbeta: dbeta, terms: terms,
            fastBox: fast.map(FastConstantsBox.init),
            hasOutTerms: gammaD.isFinite && betaD.isFinite && finiteX,
            hasDxTerms: gammaD.isFinite && doutFinite && finiteX, xFinite: sums.xTally.isFinite)
    }

    /// `dgamma = D * invstd` with `D = sum dout*(x - mean) = P - mean*T` (the only
    /// coupling between the two passes), and in training the coupling `D/(M v)` of the
    /// element terms; NaN and zero when `dout` or `x` is not finite, nil and zero
    /// without `dout`.
    static func gradientCoupling(
        sums: ChannelSums, mean mu: ExactRational, underRoot v: ExactRational,
        c: ExactRational, count m: Int, mode: BatchNormMode, hasDout: Bool,
        doutFinite: Bool
    ) -> (dgamma: ChannelValue?, coupling: ExactRational) {
        guard hasDout else { return (nil, .zero) }
        guard doutFinite && sums.xTally.isFinite else { return (.special(.nan), .zero) }
        let d = (sums.xDout.value - mu * sums.dout.value).reduced
        let coupling = mode == .training ? (d / (ExactRational(m) * v)).reduced : .zero
        return (.exact(ExactExpression(.zero, plus: d, timesSqrtOf: c)), coupling)
    }

    /// The exact element terms (``ElementTerms``) and, unless `fastPath` is off, the
    /// fast path's constants rounded from them.
    static func elementTerms(
        sums: ChannelSums, mean mu: ExactRational, coupling: ExactRational, c: ExactRational,
        count m: Int, mode: BatchNormMode, doutFinite: Bool, gamma: Double, beta: Double,
        doubleDouble: Bool, fastPath: Bool
    ) -> (ElementTerms, FastConstants?) {
        let training = mode == .training
        let xScale = training ? ExactRational(m) : .one
        let xShift = training ? sums.x.value : mu
        let doutShift = training && doutFinite ? sums.dout.value : .zero
        let factor = ExactRational(exactly: gamma.isFinite ? gamma : 0) / xScale
        let betaR = ExactRational(exactly: beta.isFinite ? beta : 0)
        let fast =
            !fastPath
            ? nil
            : fastConstants(
                xScale: xScale, xShift: xShift, doutScale: xScale, doutShift: doutShift,
                factor: factor, coupling: coupling, c: c, beta: beta, doubleDouble: doubleDouble)
        let terms = ElementTerms(
            xScale: xScale, xShift: xShift, doutScale: xScale, doutShift: doutShift,
            factor: factor, coupling: coupling, c: c, beta: betaR)
        return (terms, fast)
    }

    private static func fastConstants(
        xScale: ExactRational, xShift: ExactRational, doutScale: ExactRational,
        doutShift: ExactRational, factor: ExactRational, coupling: ExactRational,
        c: ExactRational, beta: Double, doubleDouble: Bool
    ) -> FastConstants? {
        let dd = doubleDouble
        let kFactor = (factor * coupling).reduced
        // The double fast path needs g and k2 only to within a few units of 2^-53, which
        // plain double arithmetic on correctly rounded rationals gives with a proven
        // bound; rounding the square-root expressions exactly cost most of a channel's
        // solve. Double-double needs the exact roundings.
        let cD = dd ? 0 : Double(exactly: ExactExpression(c))
        func times(_ f: ExactRational) -> Approximation {
            if f.isZero { return .zero }
            if !dd, let cheap = Approximation(f, timesSqrtOf: cD) { return cheap }
            return Approximation(ExactExpression(.zero, plus: f, timesSqrtOf: c), doubleDouble: dd)
        }
        let g = times(factor)
        let k2 = times(kFactor)
        let s = Approximation(xShift, doubleDouble: dd)
        let t = Approximation(doutShift, doubleDouble: dd)
        guard g.isTame, k2.isTame, s.isTame, t.isTame, beta.magnitude < 0x1p600 else { return nil }
        return FastConstants(
            xScale: Double(exactly: ExactExpression(xScale)), xShift: s,
            doutScale: Double(exactly: ExactExpression(doutScale)), doutShift: t,
            g: g, k2: k2, coupling: Approximation(coupling, doubleDouble: false).exactDouble,
            beta: beta)
    }

    /// The running statistics after a training step, exactly: `keep*running + take*batch`
    /// with the convention's weights, the batch variance biased or unbiased as the
    /// convention says. A non-finite running value follows IEEE arithmetic instead.
    static func runningStatistics(
        mean mu: ExactRational, variance v: ExactRational, count m: Int,
        runningMean rmD: Double, runningVar rvD: Double,
        parameters p: ResolvedParameters
    ) -> (mean: ChannelValue, variance: ChannelValue) {
        let (keep, take) = p.momentumConvention.weights(ExactRational(exactly: p.momentum))
        let (keepD, takeD) = p.momentumConvention.weights(p.momentum)
        let stored = p.runningVariance == .unbiased ? v * ExactRational(m) / ExactRational(m - 1) : v
        let mean: ChannelValue =
            rmD.isFinite
            ? .exact(ExactExpression(keep * ExactRational(exactly: rmD) + take * mu))
            : .special(keepD * rmD + takeD * mu.approximateDouble)
        let variance: ChannelValue =
            rvD.isFinite
            ? .exact(ExactExpression(keep * ExactRational(exactly: rvD) + take * stored))
            : .special(keepD * rvD + takeD * v.approximateDouble)
        return (mean, variance)
    }
}
