import ArrayComparison
import Foundation
import TestSupport
import Testing

@testable import BatchNormFiles

/// Each model of the catalogue on small hand-made cases: a plain float32
/// implementation with that one mistake (`HandMadeBatchNorm.run`) is named for it, with
/// its parameter; the same code without a mistake is named nothing; and the pieces the
/// models are built from hold their contracts.
@Suite struct DiagnosisModelTests {
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder(prefix: "bndiag")
    }

    func path(_ name: String) -> String { scratch.path(name) }

    /// A's beyond keys with their diagnoses.
    func diagnose(_ mistake: InjectedMistake, offset: Float? = nil) throws -> [(key: String, matches: [MistakeMatch])] {
        let problem = HandMadeBatchNorm(offset: offset ?? mistake.offset, spread: mistake.spread)
        try problem.writeInputs(path("in.npz"))
        try problem.write(problem.run(mistake), to: path("result.npz"))
        return try judge(path("result.npz"), inputs: path("in.npz")).keys.compactMap { key in
            guard let a = key.truth?.a, a.verdict == .beyondRounding else { return nil }
            return (key.key, a.diagnosis ?? [])
        }
    }

    @Test(arguments: InjectedMistake.all)
    func eachMistakeIsNamed(_ mistake: InjectedMistake) throws {
        let beyond = try diagnose(mistake)
        #expect(!beyond.isEmpty, "\(mistake.label) is not beyond rounding")
        for (key, matches) in beyond {
            #expect(
                matches.first?.name == mistake.name?.rawValue, "\(mistake.label): \(key) named \(matches.map(\.name))")
        }
        let best = beyond.compactMap { $0.matches.first }
        switch mistake.label {
        case "eps 1e-3": #expect(best.allSatisfy { $0.value == 1e-3 && $0.parameter == "eps ≈ 1e-3 instead of 1e-5" })
        case "3 steps accumulated": #expect(best.allSatisfy { $0.value == 3 })
        case "float16 xhat", "bfloat16 xhat":
            #expect(best.allSatisfy { $0.parameter == mistake.label.split(separator: " ").first.map(String.init) })
        case "momentum 0.01":
            #expect(best.allSatisfy { $0.value == 0.01 && $0.parameter!.contains("torch convention, instead") })
        case "biased running variance":
            #expect(best.allSatisfy { $0.parameter == "the biased batch variance instead of the unbiased" })
        case "keras convention": #expect(best.allSatisfy { $0.parameter!.hasPrefix("momentum 0.1, keras convention") })
        case "per sample", "all axes":
            #expect(best.allSatisfy { $0.parameter == (mistake.perSample ? "per sample" : "over all axes") })
        default: break
        }
    }

    /// Without a mistake nothing is beyond rounding, and the models run on every key
    /// anyway name nothing.
    @Test func correctCodeIsNamedNothing() throws {
        for offset: Float in [0.5, 1000] {
            #expect(try diagnose(.none, offset: offset).isEmpty)
            let (side, truth, _, beyond) = try diagnosisSide(path("result.npz"), inputs: path("in.npz"))
            #expect(beyond.isEmpty)
            let named = try BugDiagnosis.evaluate(side, truth: truth).flatMap { key, list in
                list.filter(\.names).map { "\(key): \($0.match.name)" }
            }
            #expect(named.isEmpty, "offset \(offset): \(named)")
        }
    }

    /// The text line under the key's sentence, and the JSON's `diagnosis` list.
    @Test func theReportSaysIt() throws {
        let problem = HandMadeBatchNorm()
        try problem.writeInputs(path("in.npz"))
        try problem.write(problem.run(InjectedMistake.all.first { $0.dropDbeta }!), to: path("result.npz"))
        let report = try judge(path("result.npz"), inputs: path("in.npz"))
        let lines = VerdictSentences.render(report)
        let sentence = try #require(lines.firstIndex { $0.hasPrefix("dx: A is beyond rounding") })
        #expect(lines[sentence + 1].hasPrefix("dx (A): matches missing-dbeta-term: within "))
        #expect(lines[sentence + 1].hasSuffix(" roundings of the exact dx without the −dbeta term"))
        #expect(!lines.contains { $0.hasPrefix("out (A)") })  // out is within rounding: not diagnosed
        let json =
            try JSONSerialization.jsonObject(with: Data(report.json(command: "bnfile diff").utf8)) as! [String: Any]
        let dx = (json["keys"] as! [[String: Any]]).first { $0["key"] as? String == "dx" }!
        let diagnosis = ((dx["truth"] as! [String: Any])["a"] as! [String: Any])["diagnosis"] as! [[String: Any]]
        #expect(diagnosis.first?["name"] as? String == "missing-dbeta-term")
        #expect((diagnosis.first?["fit"] as? Double).map { $0 <= 28 } == true)
    }

    /// The evaluator's correct formula reproduces the exact engine far below one
    /// rounding: in double for float32 results, in Float80 for float64 ones.
    @Test func theEvaluatorIsFarMorePreciseThanTheCandidate() throws {
        let problem = HandMadeBatchNorm(offset: 10)
        try problem.writeInputs(path("in.npz"))
        let truth = try DiffTruth(
            path: path("in.npz"), settings: BatchNormSettings(threads: 1),
            fallback: StatedSettings(), options: .init())
        let inputs = try ModelInputs(truth.problem)
        let shape = [problem.n, problem.c, problem.l]
        func worst<R: BinaryFloatingPoint>(_: R.Type, _ format: FloatFormat) throws -> Double {
            let outputs = FormulaEvaluator<R>(inputs: inputs, variant: FormulaVariant()).evaluate()
            let exactOut = try #require(try truth.truth(for: "out", shape: shape, format: .float64))
            let exactDx = try #require(try truth.truth(for: "dx", shape: shape, format: .float64))
            return max(
                ModelFit.distance(
                    outputs.out.values, Prediction(values: exactOut.values), scale: exactOut.scale,
                    format: format),
                ModelFit.distance(
                    outputs.dx!.values, Prediction(values: exactDx.values), scale: exactDx.scale,
                    format: format))
        }
        #expect(try worst(Double.self, .float32) < 1e-6)
        #expect(try worst(Float80.self, .float64) < 0.6)  // the truth's own rounding to float64: 0.5
    }

    @Test func roundingIntoNarrowFormats() {
        let bfloat16 = ReducedPrecision(format: .bfloat16, ambiguity: 0)
        #expect(bfloat16.round(1 + 0x1p-8) == 1)  // a tie goes to even
        #expect(bfloat16.round(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        #expect(bfloat16.round(-3 * 0x1p-130) == -3 * 0x1p-130)  // 2 bits: exact
        let float16 = ReducedPrecision(format: .float16, ambiguity: 0)
        #expect(float16.round(1 + 0x1p-11) == 1)
        #expect(float16.round(3 * 0x1p-26) == 0x1p-24)  // subnormals: the least one, 2^-24
    }

    @Test func parameterEstimates() {
        #expect(ParameterEstimates.roundNumbers(near: 1.07e-3, excluding: 1e-5).first == 1e-3)
        #expect(!ParameterEstimates.roundNumbers(near: 1.02e-5, excluding: 1e-5).contains(1e-5))
        #expect(ParameterText.decimal(1e-3) == "1e-3" && ParameterText.decimal(1e-5) == "1e-5")
        #expect(ParameterText.decimal(0.25) == "0.25")
        let truth: [Double] = [1, -2, 0.5, 0]
        #expect(ParameterEstimates.factor(values: truth.map { 3 * $0 }, truth: truth) == 3)
        #expect(ParameterEstimates.factor(values: truth, truth: truth) == nil)
        let weight = ParameterEstimates.batchWeight(
            candidate: [0.9 * 1 + 0.1 * 3, 2], running: [1, 2], batch: [3, 2])
        #expect(weight.map { abs($0 - 0.1) < 1e-12 } == true)  // the channel without spread does not count
    }

    @Test func anIntervalModelFitsWhatItHolds() {
        let prediction = Prediction(values: [1, 2], width: [0.5, 0])
        #expect(ModelFit.distance([1.4, 2], prediction, scale: [1, 1], format: .float32) == 0)
        let outside = ModelFit.distance([1.5 + 0x1p-20, 2], prediction, scale: [1, 1], format: .float32)
        #expect(abs(outside - 0x1p-20 / 0x1p-24) < 1e-6)
    }

    @Test func theFloat32Fingerprint() {
        #expect(StoredPrecisionModel.fingerprint([1, 0.5, Double(Float(0.1)), .nan, -.infinity]))
        #expect(!StoredPrecisionModel.fingerprint([1, 0.1]))
    }

    /// In evaluation the mode's mistake is the reverse: a training step judged with
    /// --eval is named wrong-mode "training" on every key beyond rounding, bnfile's own
    /// mean and invstd included when the file has them.
    @Test func aTrainingStepJudgedInEvaluation() throws {
        let problem = HandMadeBatchNorm()
        try problem.writeInputs(path("in.npz"))
        var results = problem.run(.none)
        let groups = problem.statistics(problem.groups(.none).members, unstable: false)
        results["mean"] = groups.map(\.mean)
        results["invstd"] = groups.map { 1 / ($0.variance + problem.eps).squareRoot() }
        try problem.write(results, to: path("result.npz"))
        let settings = BatchNormSettings(stated: StatedSettings(training: false), threads: 2)
        let beyond = try judge(path("result.npz"), inputs: path("in.npz"), settings: settings).keys.compactMap { key in
            key.truth?.a.verdict == .beyondRounding ? (key.key, key.truth!.a.diagnosis ?? []) : nil
        }
        #expect(Set(beyond.map(\.0)).isSuperset(of: ["out", "dx", "dgamma", "mean", "invstd"]))
        for (key, matches) in beyond {
            #expect(matches.first.map { [$0.name, $0.parameter] } == ["wrong-mode", "training"], "\(key): \(matches)")
        }
    }
}
