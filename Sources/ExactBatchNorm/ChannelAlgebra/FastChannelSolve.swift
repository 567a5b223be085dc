/// The per-channel algebra of ``ChannelSolution`` in certified double-double arithmetic,
/// four channels at a time: the same values from the same exact sums, proven rounded
/// without big integers.
///
/// Every quantity is an enclosure (``EnclosureLanes``, one channel per lane): a
/// double-double with a rigorous bound on its distance from the exact real value the
/// big-rational path computes (means, variance, `var + eps`, `invstd`, `D = P - mean*T`,
/// the coupling `D/(M (var + eps))`, the running statistics and the element kernel's
/// constants). A per-channel output is kept only if its enclosure decides its rounding
/// to double and, where a narrower format could need it, the side of that double the
/// exact value lies on (``EnclosureLanes/certified``); the kernel's constants need only
/// their enclosures, which the fast element paths already treat as values with error
/// bounds. Whenever something is not decided — a value on or next to a rounding
/// boundary, a cancellation deeper than double-double can follow (`|mean|/std` beyond
/// about 2^40), magnitudes outside [2^-450, 2^450], a non-finite input — the channel's
/// lane is masked off and the channel takes the exact path, so the bits never depend on
/// which path ran.
///
/// Lane contract: the steps run in every lane without branches, each guard of the
/// one-channel analysis becoming a mask that is false in the lanes it would stop, and
/// the masks are combined with "and". Since every lane operation gives a lane the bits
/// that the analysis gives its channel alone (``EnclosureLanes``), a channel is decided
/// here exactly when the analysis decides it, with the same results, whichever channels
/// share its group; the lanes of a short last group are padding, never decided.
///
/// Cost: about forty double-double operations per group of four channels, against tens
/// of microseconds of big-integer algebra per channel, and no allocation: the exact
/// element terms are made only if an element of the channel needs them
/// (``SolvedChannels``).
enum FastChannelSolve {
    /// Channels per group: one per lane.
    static let width = LaneValues.scalarCount

    /// The group of channels `channels` (at most ``width``, whose sums start at `sums`),
    /// lane `k` holding channel `channels.lowerBound + k`: the one-channel analysis's
    /// steps in every lane, its guards as masks, all of them combined into `decided`.
    @inline(never)
    static func solve(
        channels: Range<Int>, sums: UnsafePointer<ChannelSums>, count m: Int, mode: BatchNormMode,
        hasDout: Bool, parameters p: ResolvedParameters
    ) -> GroupSolution {
        solve(
            Inputs(channels: channels, sums: sums, mode: mode, hasDout: hasDout, parameters: p),
            count: m, mode: mode, hasDout: hasDout, parameters: p)
    }

    /// The same steps on operands gathered already: from exact sums as above, or summed
    /// in lanes straight from the data (``LaneSums``), inlined into each. (The solve
    /// from sums is out of line: inlined into its callers it cost about 950
    /// instructions a channel more on (4,2048,7,7).)
    @inline(__always)
    static func solve(
        _ inputs: Inputs, count m: Int, mode: BatchNormMode, hasDout: Bool, parameters p: ResolvedParameters
    ) -> GroupSolution {
        let stats = Statistics(inputs, count: m, mode: mode, hasDout: hasDout, parameters: p)
        let (invstd, rooted) = stats.v.reciprocalSquareRoot
        var decided = inputs.valid .& stats.valid .& rooted
        var gradients: (dgamma: CertifiedLanes, dbeta: CertifiedLanes)? = nil
        var coupling = EnclosureLanes.zero
        if let d = stats.d, let t = stats.t {
            let (dgamma, dbeta) = ((d * invstd).certified, t.certified)
            gradients = (dgamma, dbeta)
            decided .&= dgamma.decided .& dbeta.decided
            if mode == .training {
                let (k, divided) = d / stats.v.times(exactly: stats.scale.hi)
                coupling = k
                decided .&= divided
            }
        }
        let (mean, inv) = (stats.mean.certified, invstd.certified)
        let (runningMean, runningVar) = (stats.runningMean.certified, stats.runningVar.certified)
        decided .&= mean.decided .& inv.decided .& runningMean.decided .& runningVar.decided
        let constants = Constants(stats, invstd: invstd, coupling: coupling, gamma: inputs.gamma)
        return GroupSolution(
            mean: mean, invstd: inv, runningMean: runningMean, runningVar: runningVar,
            gradients: gradients, constants: constants, beta: inputs.beta,
            decided: decided .& constants.valid)
    }

    /// One group's operands, a channel per lane: its parameters and, as enclosures, the
    /// sums the mode uses (zero where unused). `valid` is false in a lane of padding
    /// and wherever the one-channel analysis declines at once: a non-finite parameter
    /// or sum, or a sum outside the enclosures' range (not tame).
    ///
    /// Each lane vector is built from four scalars in registers (writing lanes one at a
    /// time through memory stalls every later read of the vector). The lanes of a short
    /// group repeat its last channel, and `valid` masks them.
    struct Inputs {
        var gamma: LaneValues, beta: LaneValues
        var runningMean: LaneValues, runningVar: LaneValues
        var x = EnclosureLanes.zero, xx = EnclosureLanes.zero
        var dout = EnclosureLanes.zero, xDout = EnclosureLanes.zero
        var valid: LaneMask

        init(
            channels: Range<Int>, sums: UnsafePointer<ChannelSums>, mode: BatchNormMode, hasDout: Bool,
            parameters p: borrowing ResolvedParameters
        ) {
            let last = channels.count - 1
            @inline(__always) func sum(_ k: Int) -> UnsafePointer<ChannelSums> { sums + min(k, last) }
            self.init(channels: channels, parameters: p)
            valid .&= Self.mask { sum($0).pointee.xTally.isFinite }
            if mode == .training {
                let (s, sOK) = Self.gather { sum($0).pointee.x.enclosure }
                let (q, qOK) = Self.gather { sum($0).pointee.xx.enclosure }
                (x, xx, valid) = (s, q, valid .& sOK .& qOK)
            }
            if hasDout {
                let (t, tOK) = Self.gather { sum($0).pointee.dout.enclosure }
                let (pp, ppOK) = Self.gather { sum($0).pointee.xDout.enclosure }
                (dout, xDout) = (t, pp)
                valid .&= Self.mask { sum($0).pointee.doutTally.isFinite } .& tOK .& ppOK
            }
            valid .&= x.isTame .& xx.isTame .& dout.isTame .& xDout.isTame
        }

        /// The parameters of `channels`, no sums yet; `valid` where they are finite and
        /// the lane holds a channel.
        @inline(__always)
        init(channels: Range<Int>, parameters p: borrowing ResolvedParameters) {
            let c = channels.lowerBound, last = channels.count - 1
            @inline(__always) func values(_ v: [Double]) -> LaneValues {
                LaneValues(v[c], v[c + min(1, last)], v[c + min(2, last)], v[c + min(3, last)])
            }
            (gamma, beta) = (values(p.gamma), values(p.beta))
            (runningMean, runningVar) = (values(p.runningMean), values(p.runningVar))
            let finite = Self.isFinite(gamma) .& Self.isFinite(beta) .& Self.isFinite(runningMean)
            valid = (finite .& Self.isFinite(runningVar) .& (SIMD4<Int64>(0, 1, 2, 3) .<= Int64(last)))
        }

        @inline(__always)
        static func isFinite(_ v: LaneValues) -> LaneMask { v.magnitude .< .infinity }

        /// The lanes where `condition` holds, lane by lane.
        @inline(__always)
        static func mask(_ condition: (Int) -> Bool) -> LaneMask {
            let flags = SIMD4<Int64>(
                condition(0) ? 1 : 0, condition(1) ? 1 : 0, condition(2) ? 1 : 0, condition(3) ? 1 : 0)
            return flags .!= 0
        }

        /// Four enclosures in lanes, and the lanes that have one (zero elsewhere).
        @inline(__always)
        static func gather(_ enclosure: (Int) -> Enclosure?) -> (EnclosureLanes, LaneMask) {
            let e = (enclosure(0), enclosure(1), enclosure(2), enclosure(3))
            @inline(__always) func lanes(_ part: (Enclosure) -> Double) -> LaneValues {
                LaneValues(e.0.map(part) ?? 0, e.1.map(part) ?? 0, e.2.map(part) ?? 0, e.3.map(part) ?? 0)
            }
            let gathered = EnclosureLanes(hi: lanes(\.hi), lo: lanes(\.lo), radius: lanes(\.radius))
            let present = SIMD4<Int64>(e.0 == nil ? 0 : 1, e.1 == nil ? 0 : 1, e.2 == nil ? 0 : 1, e.3 == nil ? 0 : 1)
            return (gathered, present .!= 0)
        }
    }

    /// What both modes reduce to: the mean used, `v = var + eps`, the running
    /// statistics after the step, `x`'s scale and shift in `b = scale*x - shift`, and
    /// with `dout` its shift `T` and `D = P - mean*T`; `valid` where every division
    /// had a divisor separated from zero.
    struct Statistics {
        var mean: EnclosureLanes
        var v: EnclosureLanes
        var runningMean: EnclosureLanes
        var runningVar: EnclosureLanes
        /// An exact double in every lane: the count in training, 1 in evaluation.
        var scale: EnclosureLanes
        var shift: EnclosureLanes
        var t: EnclosureLanes? = nil
        var d: EnclosureLanes? = nil
        /// `T` in training, 0 in evaluation.
        var doutShift = EnclosureLanes.zero
        var valid = LaneMask(repeating: true)

        init(
            _ inputs: borrowing Inputs, count m: Int, mode: BatchNormMode, hasDout: Bool,
            parameters p: borrowing ResolvedParameters
        ) {
            let eps = EnclosureLanes(p.eps)
            let rm = inputs.runningMean, rv = inputs.runningVar
            switch mode {
            case .training:
                let bigM = EnclosureLanes(Double(m)), s = inputs.x, q = inputs.xx
                let (mean, meanOK) = s / bigM
                let (variance, varianceOK) = (q.times(exactly: bigM.hi) - s * s) / bigM.times(exactly: bigM.hi)
                var (stored, storedOK) = (variance, LaneMask(repeating: true))
                if p.runningVariance == .unbiased {
                    (stored, storedOK) = variance.times(exactly: bigM.hi) / EnclosureLanes(Double(m - 1))
                }
                let (keep, take) = Self.weights(p)
                (self.mean, v, scale, shift) = (mean, variance + eps, bigM, s)
                runningMean = keep.times(exactly: rm) + take * mean
                runningVar = keep.times(exactly: rv) + take * stored
                valid = (meanOK .& varianceOK .& storedOK)
            case .evaluation:
                (mean, v, runningMean, runningVar) = (
                    EnclosureLanes(rm), EnclosureLanes(rv) + eps, EnclosureLanes(rm), EnclosureLanes(rv)
                )
                (scale, shift) = (EnclosureLanes(1), EnclosureLanes(rm))
            }
            if hasDout { addGradientShifts(inputs, mode: mode) }
        }

        /// `T` and `D`. In training `D = (M P - S T)/M`: products of exact sums, so that
        /// dout = ones (P = S, T = M) gives D = 0 with no rounding to bound.
        mutating func addGradientShifts(_ inputs: Inputs, mode: BatchNormMode) {
            let t = inputs.dout, pp = inputs.xDout
            self.t = t
            switch mode {
            case .training:
                let (d, divided) = (pp.times(exactly: scale.hi) - shift * t) / scale
                self.d = d
                doutShift = t
                valid .&= divided
            case .evaluation:
                d = pp - t.times(exactly: mean.hi)
            }
        }

        /// The momentum convention's weights `(keep, take)`; `1 - m` is exact in
        /// double-double (a two-sum of doubles).
        static func weights(_ p: ResolvedParameters) -> (keep: EnclosureLanes, take: EnclosureLanes) {
            let m = EnclosureLanes(p.momentum), rest = EnclosureLanes(1) - m
            switch p.momentumConvention {
            case .torch: return (rest, m)
            case .keras: return (m, rest)
            }
        }
    }

    /// The element kernel's constants (see ``ElementTerms``): `g = F*invstd` and
    /// `k2 = F*kk*invstd` with `F = gamma/scale`, the shifts `S` (or the running mean)
    /// and `T` (0 in evaluation), each a double-double with its bound, and the coupling
    /// `kk`; `valid` where `F` was divided out and all four are tame.
    struct Constants {
        var g: EnclosureLanes
        var k2: EnclosureLanes
        var shift: EnclosureLanes
        var doutShift: EnclosureLanes
        var coupling: EnclosureLanes
        var scale: LaneValues
        var valid: LaneMask

        init(_ stats: borrowing Statistics, invstd: EnclosureLanes, coupling: EnclosureLanes, gamma: LaneValues) {
            let (factor, divided) = EnclosureLanes(gamma) / stats.scale
            g = factor * invstd
            k2 = (factor * coupling) * invstd
            (shift, doutShift, self.coupling, scale) = (stats.shift, stats.doutShift, coupling, stats.scale.hi)
            valid = (divided .& g.isTame .& k2.isTame .& shift.isTame .& doutShift.isTame)
        }

        /// Lane `k` for the element pass, or nil when an approximation is not tame
        /// (``Approximation/isTame``) or `beta` too large for the fast path.
        @inline(__always)
        func fast(_ k: Int, beta: Double) -> FastConstants? {
            func approximation(_ e: EnclosureLanes) -> Approximation {
                Approximation(hi: e.hi[k], lo: e.lo[k], err: e.radius[k])
            }
            let (ga, ka, sa, ta) = (approximation(g), approximation(k2), approximation(shift), approximation(doutShift))
            guard ga.isTame, ka.isTame, sa.isTame, ta.isTame, beta.magnitude < 0x1p600 else { return nil }
            let exactCoupling = coupling.radius[k] == 0 && coupling.lo[k] == 0 ? coupling.hi[k] : nil
            return FastConstants(
                xScale: scale[k], xShift: sa, doutScale: scale[k], doutShift: ta,
                g: ga, k2: ka, coupling: exactCoupling, beta: beta)
        }
    }

    /// A group's certified results, a channel per lane.
    struct GroupSolution {
        var mean: CertifiedLanes
        var invstd: CertifiedLanes
        var runningMean: CertifiedLanes
        var runningVar: CertifiedLanes
        /// With `dout` only.
        var gradients: (dgamma: CertifiedLanes, dbeta: CertifiedLanes)?
        var constants: Constants
        var beta: LaneValues
        var decided: LaneMask

        /// Lane `k`'s solution and the element pass's constants, or nil when the exact
        /// path must decide the channel.
        @inline(__always)
        func channel(_ k: Int) -> (solution: CompactSolution, fast: FastConstants)? {
            guard decided[k], let fast = constants.fast(k, beta: beta[k]) else { return nil }
            func sticky(_ lanes: CertifiedLanes?) -> Int8 { lanes.map { Int8($0.sticky[k]) } ?? 0 }
            let values: InlineArray<6, Double> = [
                mean.value[k], invstd.value[k], runningMean.value[k], runningVar.value[k],
                gradients?.dgamma.value[k] ?? 0, gradients?.dbeta.value[k] ?? 0,
            ]
            let stickies: InlineArray<6, Int8> = [
                sticky(mean), sticky(invstd), sticky(runningMean), sticky(runningVar),
                sticky(gradients?.dgamma), sticky(gradients?.dbeta),
            ]
            var flags: CompactSolution.Flags = [.hasOutTerms, .xFinite, .isCertified]
            if gradients != nil { flags.formUnion([.hasDxTerms, .hasGradients]) }
            return (CompactSolution(values: values, stickies: stickies, flags: flags), fast)
        }
    }
}
