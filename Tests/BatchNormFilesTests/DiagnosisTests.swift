import ArrayComparison
@testable import BatchNormFiles
import Foundation
import Testing

@Suite struct DiagnosisTests {
    @Test func probe() throws {
        let folder = CalibrationTests.folder
        let name = ProcessInfo.processInfo.environment["PROBE"] ?? "float16.bug-reduced-precision"
        let dataset = String(name.split(separator: ".").first!)
        let (side, truth, errors, beyond) = try diagnosisSide(folder.appendingPathComponent("\(name).npz").path,
                                                              inputs: folder.appendingPathComponent("\(dataset).npz").path)
        var real = side
        real.beyond = beyond
        print("errors", errors, "beyond", beyond)
        for (key, list) in try BugDiagnosis.evaluate(real, truth: truth) {
            for e in list { print(key, e.match.name, e.match.parameter ?? "", "fit", e.match.fit, "sep", e.separation) }
        }
    }
}
