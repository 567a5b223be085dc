import ArrayComparison

/// Names the bug behind a side judged beyond rounding: every mistake of the catalogue
/// (`Mistake`) is evaluated on the inputs — exactly by the engine where it is the right
/// formula under other settings (`EngineModels`), exactly as a multiple of the truth
/// (accumulated gradients), otherwise in arithmetic far more precise than the candidate's
/// (`FormulaModels`) — and the candidate is judged against each with the truth's scales
/// and limit. A mistake is named when the candidate is within rounding of it and the
/// mistake is visible on these data: its values are themselves beyond rounding of the
/// truth. A model indistinguishable from the truth explains nothing, and with that rule
/// no correct result can be given a name.
public enum BugDiagnosis {
    /// For every key of `side.beyond`, the mistakes that explain it, best fit first and
    /// one entry per name (its best form); empty when none does.
    public static func diagnose(_ side: DiagnosisSide, truth: DiffTruth) throws -> [String: [MistakeMatch]] {
        try evaluate(side, truth: truth).mapValues { evaluations in
            var seen: Set<String> = []
            return evaluations.filter(\.names).map(\.match).sorted { $0.fit < $1.fit }
                .filter { seen.insert($0.name).inserted }
        }
    }

    /// One model judged on one key. Beyond the limit, `match.fit` and `separation` are
    /// lower bounds (the first error found above it), and the separation of a model
    /// that does not fit is not measured (0).
    public struct Evaluation: Sendable {
        public var match: MistakeMatch
        /// How far the model itself is from the truth, in u*scale (its visibility).
        public var separation: Double
        public var limit: Double
        /// Told from the truth by a fingerprint of the side, not by its values.
        public var fingerprinted = false
        /// Whether the mistake is named: the candidate fits it, and it is visible (or
        /// fingerprinted).
        public var names: Bool { match.fit <= limit && (separation > limit || fingerprinted) }
    }

    /// Every model of the catalogue that applies to `side.beyond`, judged on each of
    /// those keys, named or not (the tests run it on correct results too). Models are
    /// computed one at a time and dropped once judged. A model the engine cannot solve
    /// (settings it refuses, such as a negative running variance in evaluation) is left
    /// out: a diagnosis never turns a verdict into trouble.
    public static func evaluate(_ side: DiagnosisSide, truth: DiffTruth) throws -> [String: [Evaluation]] {
        var evaluations: [String: [Evaluation]] = [:]
        for model in try models(side, inputs: try ModelInputs(truth.problem), truth: truth) {
            for produced in (try? model()) ?? [] {
                for (key, evaluation) in judge(produced, side) { evaluations[key, default: []].append(evaluation) }
            }
        }
        return evaluations
    }

    /// One model judged on every beyond key it predicts.
    static func judge(_ model: MistakeModel, _ side: DiagnosisSide) -> [(String, Evaluation)] {
        side.beyond.sorted().compactMap { key in
            guard let prediction = model.predictions[key], let limit = side.limit(key),
                let fit = side.distance(key, prediction, cap: limit)
            else { return nil }
            let match = MistakeMatch(
                name: model.mistake.rawValue, fit: fit, parameter: model.parameter,
                value: model.value, detail: model.detail(key))
            let separation = fit > limit ? 0 : side.distance(key, prediction, ofTruth: true, cap: limit) ?? 0
            return (
                key,
                Evaluation(
                    match: match, separation: separation, limit: limit,
                    fingerprinted: model.fingerprinted)
            )
        }
    }

    typealias ModelThunk = () throws -> [MistakeModel]

    /// The models, in Double for float16 and float32 results and in Float80 for float64
    /// ones. Where Float80 does not exist, the formula models of float64 results are left
    /// out (double is no more precise than the candidate) rather than guessed.
    static func models(_ side: DiagnosisSide, inputs: ModelInputs, truth: DiffTruth) throws -> [ModelThunk] {
        if side.needsExtendedPrecision {
            #if arch(x86_64) && !os(Windows)
            return models(Float80.self, side, inputs: inputs, truth: truth)
            #else
            return [{ accumulatedGradients(side) + StoredPrecisionModel.models(side) }]
            #endif
        }
        return models(Double.self, side, inputs: inputs, truth: truth)
    }

    static func models<R: BinaryFloatingPoint>(
        _: R.Type, _ side: DiagnosisSide, inputs: ModelInputs,
        truth: DiffTruth
    ) -> [ModelThunk] {
        let formulas = FormulaModels<R>(side: side, inputs: inputs)
        return formulas.thunks() + [{ accumulatedGradients(side) + StoredPrecisionModel.models(side) }]
            + EngineModels<R>(formulas: formulas, truth: truth).thunks()
    }

    /// accumulated-gradients: k times the truth, k the integer nearest the candidate's
    /// ratio to it, with k times its scale. k*t is exact in double for a float16 or
    /// float32 truth t, and within half a rounding of k times the exact value for a
    /// float64 one (t is the exact value rounded once).
    static func accumulatedGradients(_ side: DiagnosisSide) -> [MistakeModel] {
        side.beyond.intersection(["dx", "dgamma", "dbeta"]).sorted().compactMap { key in
            guard let values = side.values[key], let exact = side.truths[key],
                let k = ParameterEstimates.factor(values: values, truth: exact.values)
            else { return nil }
            let factor = Double(k)
            let prediction = Prediction(
                values: exact.values.map { factor * $0 }, scale: exact.scale.map { factor * $0 })
            return MistakeModel(
                mistake: .accumulatedGradients, parameter: "factor \(k)", value: factor,
                detail: { "\(k) times the exact \($0) (gradients of \(k) steps summed: zero_grad forgotten)" },
                predictions: [key: prediction])
        }
    }
}

extension BugDiagnosis {
    /// Puts each side's diagnosis into the judgements of its beyond keys. B is not
    /// diagnosed again when it holds the same values as A on the same keys.
    public static func attach(
        to reports: inout [KeyReport], a: DiagnosisSide, b: DiagnosisSide,
        truth: DiffTruth
    ) throws {
        let matchesA = a.beyond.isEmpty ? [:] : try diagnose(a, truth: truth)
        let sameValues = a.beyond == b.beyond && b.beyond.allSatisfy { a.values[$0] == b.values[$0] }
        let matchesB = b.beyond.isEmpty ? [:] : sameValues ? matchesA : try diagnose(b, truth: truth)
        for i in reports.indices {
            let key = reports[i].key
            if a.beyond.contains(key) { reports[i].truth?.a.diagnosis = matchesA[key] ?? [] }
            if b.beyond.contains(key) { reports[i].truth?.b.diagnosis = matchesB[key] ?? [] }
        }
    }
}
