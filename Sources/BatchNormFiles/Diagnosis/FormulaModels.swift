import ArrayComparison

/// The mistakes modelled by formula variants evaluated in high precision
/// (`FormulaEvaluator`): every forward mistake but wrong eps and wrong mode (which the
/// exact engine evaluates, `EngineModels`), and the backward mistakes.
struct FormulaModels<R: BinaryFloatingPoint> {
    let side: DiagnosisSide
    let inputs: ModelInputs
    /// Shared by every variant with channel statistics.
    let channelStatistics: GroupStatistics<R>
    /// The keys a forward mistake changes (bnfile's own mean and invstd included).
    static var forwardKeys: Set<String> { ["out", "dx", "dgamma", "mean", "invstd"] }

    /// Per channel, the invstd the candidate's out implies, where out is in its file and
    /// a forward key is beyond (wrong-eps and unstable-variance start from it).
    let impliedInvstd: [Double?]?

    init(side: DiagnosisSide, inputs: ModelInputs) {
        self.side = side
        self.inputs = inputs
        let statistics = GroupStatistics<R>(inputs, grouping: .channel)
        channelStatistics = statistics
        impliedInvstd = side.values["out"].flatMap { out in
            side.beyond.isDisjoint(with: Self.forwardKeys)
                ? nil
                : ParameterEstimates.impliedInvstd(out: out, inputs: inputs, stats: statistics)
        }
    }

    /// Each model as a computation to run when its turn comes, so that only one model's
    /// values are held at a time.
    func thunks() -> [() -> [MistakeModel]] {
        var thunks: [() -> [MistakeModel]] = [backwardMistakes]
        guard !side.beyond.isDisjoint(with: Self.forwardKeys.union(["running_mean", "running_var"])) else {
            return thunks
        }
        for variant in forwardVariants() { thunks.append { forwardModel(variant).map { [$0] } ?? [] } }
        thunks.append { unstableVariance().map { [$0] } ?? [] }
        return thunks
    }

    func evaluator(_ variant: FormulaVariant, inputs: ModelInputs? = nil) -> FormulaEvaluator<R> {
        let shared = variant.grouping == .channel && inputs == nil ? channelStatistics : nil
        return FormulaEvaluator<R>(inputs: inputs ?? self.inputs, variant: variant, statistics: shared)
    }

    /// Whether the candidate's out rules a forward mistake out: an implementation making
    /// it produces the model's out, so a candidate whose out (when its file has one) is
    /// beyond rounding of that does not make it. The backward is then not computed.
    func refutes(_ out: OutSample) -> Bool {
        guard let limit = side.limit("out"),
            let fit = side.distance("out", out.prediction, at: out.indices, cap: limit)
        else { return false }
        return fit > limit
    }

    func forwardModel(_ variant: Variant) -> MistakeModel? {
        let (mistake, formula, parameter, detail) = variant
        guard let outputs = evaluator(formula).evaluate(refuted: refutes) else { return nil }
        return MistakeModel(
            mistake: mistake, parameter: parameter, detail: detail,
            predictions: MistakeModel.forwardPredictions(outputs))
    }

    /// dx without either term, and the uncentred dgammas, on the correct forward. Their
    /// out is the truth's, so a side whose out is beyond rounding refutes them all
    /// (`refutes`), and they are not computed.
    func backwardMistakes() -> [MistakeModel] {
        guard inputs.training, !side.beyond.isDisjoint(with: ["dx", "dgamma"]), !side.beyond.contains("out") else {
            return []
        }
        let outputs = evaluator(FormulaVariant()).evaluate(backwardMistakes: true)
        var models: [MistakeModel] = []
        if let p = outputs.dxWithoutDbeta {
            models.append(
                MistakeModel(
                    mistake: .missingDbetaTerm, detail: { "the exact \($0) without the −dbeta term" },
                    predictions: ["dx": p]))
        }
        if let p = outputs.dxWithoutDgamma {
            models.append(
                MistakeModel(
                    mistake: .missingDgammaTerm,
                    detail: { "the exact \($0) without the −xhat·dgamma term" }, predictions: ["dx": p]))
        }
        let forms = ["sum(dout*x)*invstd", "sum(dout*(x - mean)) without invstd", "sum(dout*x)"]
        for (form, p) in zip(forms, outputs.uncentredDgamma) {
            models.append(
                MistakeModel(
                    mistake: .uncentredDgamma, parameter: form,
                    detail: { "the exact \($0) = \(form)" }, predictions: ["dgamma": p]))
        }
        return models
    }

    typealias Variant = (Mistake, FormulaVariant, String?, (String) -> String)

    func forwardVariants() -> [Variant] {
        var variants: [Variant] = [
            (
                .epsOutsideSqrt, FormulaVariant(invstd: .epsOutsideSqrt), nil,
                { "the exact \($0) with invstd = 1/(sqrt(var) + eps)" }
            )
        ]
        if inputs.training {
            variants += [
                (
                    .unbiasedVariance, FormulaVariant(invstd: .unbiased), nil,
                    { "the exact \($0) normalised by the unbiased variance var*M/(M-1)" }
                ),
                (
                    .wrongReductionAxes, FormulaVariant(grouping: .perSample), "per sample",
                    { "the exact \($0) with statistics per sample (over every axis but the first)" }
                ),
                (
                    .wrongReductionAxes, FormulaVariant(grouping: .all), "over all axes",
                    { "the exact \($0) with statistics over every axis, the channel's too" }
                ),
            ]
        }
        let ambiguity = (side.limit("out") ?? side.limit("dx") ?? 28) * side.workingUnitRoundoff
        for format in [ReducedPrecision.Format.float16, .bfloat16] {
            variants.append(
                (
                    .reducedPrecision,
                    FormulaVariant(xhatPrecision: ReducedPrecision(format: format, ambiguity: ambiguity)),
                    format.rawValue, { "\($0) computed with xhat rounded to \(format.rawValue)" }
                ))
        }
        return variants
    }
}

extension FormulaModels {
    /// unstable-variance: var = E[x^2] - E[x]^2 in working precision W errs by up to
    /// about limit*u_W*(E[x^2] + 2*E[x]^2) = limit*u_W*(var + 3*mean^2), in a direction
    /// that depends on the summation order, so the model cannot be one set of values.
    /// It is the correct formula with the variance each channel's out implies (least
    /// squares, `ParameterEstimates.impliedInvstd`), admitted only where that variance
    /// lies within the cancellation's reach of the true one: the candidate must fit it
    /// on every key (the shape of a variance error) and by no more than W allows. dx
    /// also allows for the formula's derivative evaluated as written, which cancels the
    /// same way (`FormulaVariant.varianceCancellation`). The fitted invstd is held in
    /// double: for a float64 side that costs the model up to about one rounding, less
    /// than the fit's own noise and far less than the cancellation it models.
    func unstableVariance() -> MistakeModel? {
        guard inputs.training, let implied = impliedInvstd, let limit = side.limit("out") else { return nil }
        let stats = channelStatistics
        let eps = inputs.parameters.eps, u = side.workingUnitRoundoff
        var invstd: [Double] = [], clamped: [Bool] = [], visible = false
        for c in 0..<inputs.channels {
            let variance = Double(stats.variance[c]), mean = Double(stats.mean[c])
            guard let s = implied[c] else {
                invstd.append(1 / (variance + eps).squareRoot())
                clamped.append(false)
                continue
            }
            let fitted = max(0, 1 / (s * s) - eps)
            guard abs(fitted - variance) <= limit * u * (variance + 3 * mean * mean) else { return nil }
            invstd.append(1 / (fitted + eps).squareRoot())
            visible = visible || abs(fitted - variance) > varianceResolution(c, limit: limit)
            // Clamped: 0 to within the fit's own resolution of 1/s^2.
            clamped.append(fitted <= limit * u * (eps + variance))
        }
        guard visible else { return nil }  // the truth, within rounding
        let variant = FormulaVariant(invstd: .given(invstd), varianceCancellation: limit * u, clampedVariance: clamped)
        guard let outputs = evaluator(variant).evaluate(refuted: refutes) else { return nil }
        let precision = u == FloatFormat.float64.unitRoundoff ? "float64" : "float32"
        return MistakeModel(
            mistake: .unstableVariance, parameter: "in \(precision)",
            detail: { "\($0) with each channel's variance from E[x²]−E[x]² in \(precision) (fitted)" },
            predictions: MistakeModel.forwardPredictions(outputs))
    }

    /// The eps that best explains the candidate's out among the round numbers near the
    /// one its implied invstd suggests, with its fit on out and its out; nil without out
    /// or estimate.
    func wrongEps() -> (eps: Double, fit: Double, out: Prediction)? {
        guard let implied = impliedInvstd,
            let estimate = ParameterEstimates.eps(implied: implied, stats: channelStatistics)
        else { return nil }
        let eps = inputs.parameters.eps, limit = side.limit("out") ?? 0
        let choices = ParameterEstimates.roundNumbers(near: estimate, excluding: eps).prefix(3).filter { e in
            (0..<inputs.channels).contains { abs(e - eps) > varianceResolution($0, limit: limit) }
        }
        return choices.compactMap { eps in
            guard let model = evaluator(FormulaVariant(invstd: .eps(eps))).evaluate(backward: false, refuted: refutes)
            else { return nil }
            return side.distance("out", model.out).map { (eps, $0, model.out) }
        }.min { $0.1 < $1.1 }
    }

    /// How far a correct evaluation's rounding may move a channel's var + eps:
    /// limit*u*S_var, S_var = 2*sum(|c|*|x|)/M + 2*var (`ErrorScales`). A model that moves
    /// it by no more is the truth within rounding, and is not evaluated.
    func varianceResolution(_ c: Int, limit: Double) -> Double {
        limit * side.workingUnitRoundoff
            * Double(2 * channelStatistics.absDeviationX[c] + 2 * channelStatistics.variance[c])
    }
}
