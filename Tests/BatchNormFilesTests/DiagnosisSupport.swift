import ArrayComparison
import Foundation
import NumPyFormat

@testable import BatchNormFiles

/// A result file read as one side of a diff against its inputs' truth, every judged key
/// counted as beyond rounding (so that the models run on every key), as the
/// diagnosis's tests need it. `beyond` is A's real verdicts.
func diagnosisSide(_ candidate: String, inputs: String) throws -> (
    side: DiagnosisSide, truth: DiffTruth,
    errors: [String: Double], beyond: Set<String>
) {
    let settings = BatchNormSettings(threads: 2)
    let truth = try DiffTruth(path: inputs, settings: settings, fallback: StatedSettings(), options: NPYReadOptions())
    let file = try DiffFile(path: candidate, singleArrayKey: "", options: NPYReadOptions())
    var side = DiagnosisSide(), errors: [String: Double] = [:], beyond: Set<String> = []
    for key in file.dataKeys {
        guard case .values(let pair) = try DiffPair.load(key: key, a: file, b: file, rtol: nil, atol: nil),
            let exact = try truth.truth(for: key, shape: pair.shape, format: pair.formatA)
        else { continue }
        let values = try pair.valuesA()
        let judged = TruthJudgement.judge(
            a: .init(values: values, format: pair.formatA, truth: exact.values),
            b: .init(values: values, format: pair.formatA, truth: exact.values),
            scale: exact.scale, shape: pair.shape,
            valuesPerChannel: exact.valuesPerChannel)
        side.add(key: key, values: values, format: pair.formatA, truth: exact, beyond: true)
        errors[key] = judged.a.maxError
        if judged.a.verdict == .beyondRounding { beyond.insert(key) }
    }
    return (side, truth, errors, beyond)
}
