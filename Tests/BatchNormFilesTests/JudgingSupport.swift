import ArrayComparison
import BatchNormFiles
import Foundation
import NumPyFormat

/// The repository's data folder, for the committed fixtures.
let dataFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../data").standardized

/// Judges one result file against the truth of its inputs, as `bnfile diff --inputs`
/// does (the file is both A and B: only A's verdicts are read).
func judge(_ candidate: String, inputs: String, settings: BatchNormSettings = BatchNormSettings(threads: 2))
    throws -> DiffReport
{
    let request = DiffRequest(
        fileA: candidate, fileB: candidate, keys: nil, rtol: nil, atol: nil, channelAxis: nil, topK: 1,
        equalNaN: false, inputs: inputs, settings: settings, options: NPYReadOptions())
    return try DiffJob.report(for: request)
}

/// The keys judged beyond rounding, with each one's largest error in u*scale.
func beyondKeys(_ report: DiffReport) -> [String: Double] {
    var keys: [String: Double] = [:]
    for key in report.keys {
        guard let truth = key.truth, truth.a.verdict == .beyondRounding else { continue }
        keys[key.key] = truth.a.maxError
    }
    return keys
}

/// The files of a fixture folder whose names end in `suffix`, sorted.
func fixtures(_ folder: String, endingIn suffix: String) -> [String] {
    let url = dataFolder.appendingPathComponent(folder)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
    return names.filter { $0.hasSuffix(suffix) }.sorted().map { url.appendingPathComponent($0).path }
}
