import ArrayComparison
import ExactBatchNorm

/// The mistakes that are the right formulas under other settings: another eps, the
/// other mode, another momentum or momentum convention, the other running variance. The exact engine evaluates them
/// as exactly as the truth (its values rounded once into each key's format, with their
/// own error scales). Each is first screened in high precision (`FormulaEvaluator`, or
/// the running update in double), and the engine runs only for a model that may fit, so
/// a layer pays for at most the engine runs of the mistakes it might have made.
struct EngineModels<R: BinaryFloatingPoint> {
    let formulas: FormulaModels<R>
    let truth: DiffTruth
    var side: DiagnosisSide { formulas.side }
    var inputs: ModelInputs { formulas.inputs }

    func thunks() -> [() throws -> [MistakeModel]] {
        [wrongEps, wrongMode, wrongMomentum, wrongRunningVariance].map { model in { try model().map { [$0] } ?? [] } }
    }

    /// The engine's values for `keys` with other parameters or mode.
    func model(
        _ mistake: Mistake, parameters: BatchNormParameters, mode: BatchNormMode, keys: Set<String>,
        parameter: String?, value: Double?, detail: @escaping (String) -> String
    ) throws -> MistakeModel {
        var problem = truth.problem
        problem.parameters = parameters
        problem.mode = mode
        let variant = DiffTruth(problem: problem, threads: truth.threads)
        var predictions: [String: Prediction] = [:]
        for key in keys.sorted() {
            guard let format = side.formats[key] else { continue }
            let shape = key == "out" || key == "dx" ? problem.shape.dimensions : [problem.shape.channels]
            guard let exact = try variant.truth(for: key, shape: shape, format: format) else { continue }
            predictions[key] = Prediction(values: exact.values, scale: exact.scale)
        }
        return MistakeModel(
            mistake: mistake, parameter: parameter, value: value, detail: detail,
            predictions: predictions)
    }

    /// Whether a screening prediction would name the mistake on some beyond key it
    /// predicts: the candidate fits it there, and it is visibly not the truth.
    func mayName(_ predictions: [String: Prediction]) -> Bool {
        predictions.contains { key, prediction in side.beyond.contains(key) && side.names(key, prediction) }
    }

    /// Screened on out alone when out is beyond rounding (it is then the key that shows
    /// the mistake), else on every key the formula predicts.
    func wrongEps() throws -> MistakeModel? {
        guard !side.beyond.isDisjoint(with: FormulaModels<R>.forwardKeys), let (eps, fit, out) = formulas.wrongEps(),
            fit <= side.limit("out") ?? 0
        else { return nil }
        let screen =
            side.beyond.contains("out")
            ? ["out": out]
            : MistakeModel.forwardPredictions(formulas.evaluator(FormulaVariant(invstd: .eps(eps))).evaluate())
        guard mayName(screen) else { return nil }
        var parameters = inputs.parameters
        parameters.eps = eps
        let text = "eps ≈ \(ParameterText.decimal(eps)) instead of \(ParameterText.decimal(inputs.parameters.eps))"
        return try model(
            .wrongEps, parameters: parameters, mode: truth.problem.mode,
            keys: side.beyond.intersection(FormulaModels<R>.forwardKeys), parameter: text, value: eps,
            detail: { "the exact \($0) with \(text)" })
    }

    /// Evaluation statistics in a training step, or batch statistics in evaluation.
    func wrongMode() throws -> MistakeModel? {
        var flipped = inputs
        flipped.training.toggle()
        let keys = side.beyond.intersection(FormulaModels<R>.forwardKeys.union(["running_mean", "running_var"]))
        guard !keys.isEmpty else { return nil }
        guard let outputs = formulas.evaluator(FormulaVariant(), inputs: flipped).evaluate(refuted: formulas.refutes)
        else {
            return nil
        }
        var screen = MistakeModel.forwardPredictions(outputs)
        if !flipped.training {  // evaluation leaves the running statistics as they were
            screen["running_mean"] = Prediction(values: inputs.runningMean)
            screen["running_var"] = Prediction(values: inputs.runningVar)
        } else {
            (screen["running_mean"], screen["running_var"]) = formulas.evaluator(FormulaVariant(), inputs: flipped)
                .running(GroupStatistics<R>(flipped, grouping: .channel))
        }
        guard mayName(screen) else { return nil }
        let mode: BatchNormMode = flipped.training ? .training : .evaluation
        let phrase =
            flipped.training
            ? "in training mode (batch statistics) where evaluation was meant"
            : "in evaluation mode (running statistics) where training was meant"
        return try model(
            .wrongMode, parameters: inputs.parameters, mode: mode, keys: keys,
            parameter: flipped.training ? "training" : "evaluation", value: nil,
            detail: { "the exact \($0) \(phrase)" })
    }
}

extension EngineModels {
    /// Another momentum, or the same number in the other framework's convention: the
    /// batch's weight in the update is estimated from the candidate's running mean (or
    /// variance), both readings are screened, and the first that fits is solved.
    func wrongMomentum() throws -> MistakeModel? {
        let keys = side.beyond.intersection(["running_mean", "running_var"])
        guard inputs.training, !keys.isEmpty, let take = batchWeight() else { return nil }
        let p = inputs.parameters
        let other: MomentumConvention = p.momentumConvention == .torch ? .keras : .torch
        let estimate = p.momentumConvention == .torch ? take : 1 - take
        // Momentum 0 (torch) or 1 (keras) leaves the running statistics alone: that is
        // the evaluation mode's doing, which wrong-mode names.
        let still = p.momentumConvention == .torch ? 0.0 : 1.0
        let readings = [(other, p.momentum), (p.momentumConvention, (estimate * 1000).rounded() / 1000)]
            .filter {
                ($0.0 != p.momentumConvention || $0.1 != p.momentum) && !($0.0 == p.momentumConvention && $0.1 == still)
            }
        let screened = readings.map { reading -> (MomentumConvention, Double, Double) in
            var changed = inputs
            (changed.parameters.momentumConvention, changed.parameters.momentum) = reading
            let (mean, variance) = FormulaEvaluator<R>(inputs: changed, variant: FormulaVariant())
                .running(formulas.channelStatistics)
            let fits = [("running_mean", mean), ("running_var", variance)].filter { keys.contains($0.0) }
                .map { side.distance($0.0, $0.1) ?? .infinity }
            return (reading.0, reading.1, fits.max() ?? Double.infinity)
        }
        // The first reading that fits: the other convention before another number.
        guard let best = screened.first(where: { $0.2 <= side.limit(keys.first!) ?? 0 }) else { return nil }
        var parameters = p
        (parameters.momentumConvention, parameters.momentum) = (best.0, best.1)
        let text =
            "momentum \(NumberText.compact(best.1)), \(best.0.rawValue) convention, instead of "
            + "\(NumberText.compact(p.momentum)), \(p.momentumConvention.rawValue) convention"
        return try model(
            .wrongMomentum, parameters: parameters, mode: .training, keys: keys, parameter: text,
            value: best.1, detail: { "the exact \($0) with \(text)" })
    }

    /// The running variance updated with the other batch variance (biased for
    /// unbiased, or the reverse): screened in double, then solved.
    func wrongRunningVariance() throws -> MistakeModel? {
        guard inputs.training, side.beyond.contains("running_var") else { return nil }
        var changed = inputs
        let used = inputs.parameters.runningVariance
        changed.parameters.runningVariance = used == .unbiased ? .biased : .unbiased
        let (_, variance) = FormulaEvaluator<R>(inputs: changed, variant: FormulaVariant())
            .running(formulas.channelStatistics)
        guard side.names("running_var", variance) else { return nil }
        let text = "the \(changed.parameters.runningVariance.rawValue) batch variance instead of the \(used.rawValue)"
        return try model(
            .wrongRunningVariance, parameters: changed.parameters, mode: .training, keys: ["running_var"],
            parameter: text, value: nil, detail: { "the exact \($0) updated with \(text)" })
    }

    /// The weight of the batch statistic in the candidate's running update.
    func batchWeight() -> Double? {
        let stats = formulas.channelStatistics
        if let candidate = side.values["running_mean"] {
            return ParameterEstimates.batchWeight(
                candidate: candidate, running: inputs.runningMean,
                batch: stats.mean.map { Double($0) })
        }
        guard let candidate = side.values["running_var"] else { return nil }
        let unbiased = inputs.parameters.runningVariance == .unbiased
        let batch = zip(stats.variance, stats.count).map { v, m in Double(unbiased && m > 1 ? v * m / (m - 1) : v) }
        return ParameterEstimates.batchWeight(candidate: candidate, running: inputs.runningVar, batch: batch)
    }
}
