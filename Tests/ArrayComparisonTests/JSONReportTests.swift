import Foundation
import Testing

@testable import ArrayComparison

@Suite struct JSONReportTests {
    func sampleReport() -> DiffReport {
        let tolerance = Tolerance.resolved(for: .float32, rtol: 1e-3)
        let out = KeyReport.compare(
            key: "out", a: [1, .nan, 3, .infinity], b: [1, 2, 3.5, 1],
            shape: [1, 2, 2], format: .float32, tolerance: tolerance, topK: 3)
        let dx = KeyReport.compare(
            key: "dx", a: [0, 1], b: [.infinity, 1], shape: [2], format: .float32, tolerance: tolerance,
            truth: TruthInput(values: [0, 1], scale: [0, 1], valuesPerChannel: 280))
        return DiffReport(
            fileA: "a.npz", fileB: "b.npz",
            keys: [
                dx, out, KeyReport(key: "running_mean", outcome: .onlyInA),
                KeyReport(key: "w", outcome: .shapeMismatch(a: [3], b: [4])),
            ])
    }

    func parse(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any])
    }

    @Test func wellFormedWithVerdictsAndTolerances() throws {
        let root = try parse(try sampleReport().json(command: "bnfile diff"))
        #expect(root["result"] as? String == "differ")
        #expect(root["exitStatus"] as? Int == 1)
        #expect(root["mode"] as? String == "truth")
        #expect(root["keyCount"] as? Int == 4)
        #expect(root["differingKeyCount"] as? Int == 4)
        let keys = try #require(root["keys"] as? [[String: Any]])
        #expect(keys.map { $0["key"] as? String } == ["dx", "out", "running_mean", "w"])

        let out = try #require((keys[1]["outcome"] as? [String: Any]))
        #expect(out["kind"] as? String == "compared")
        let comparison = try #require(out["comparison"] as? [String: Any])
        #expect(comparison["verdict"] as? String == "mismatch")
        #expect(comparison["mismatched"] as? Int == 3)
        let tolerance = try #require(comparison["tolerance"] as? [String: Any])
        #expect(tolerance["rtol"] as? Double == 1e-3)
        #expect(tolerance["source"] as? String == "--rtol flag; atol: torch.testing.assert_close default for float32")

        let structural = try #require(keys[2]["outcome"] as? [String: Any])
        #expect(structural["kind"] as? String == "onlyInA")
        let shape = try #require(keys[3]["outcome"] as? [String: Any])
        #expect(shape["shapeA"] as? [Int] == [3])
        #expect(shape["shapeB"] as? [Int] == [4])
    }

    @Test func nonFiniteNumbersBecomeStrings() throws {
        let root = try parse(try sampleReport().json(command: "bnfile diff"))
        let keys = try #require(root["keys"] as? [[String: Any]])
        let outcome = try #require(keys[1]["outcome"] as? [String: Any])
        let comparison = try #require(outcome["comparison"] as? [String: Any])
        let offenders = try #require(comparison["topOffenders"] as? [[String: Any]])
        let byIndex = Dictionary(uniqueKeysWithValues: offenders.map { ($0["flatIndex"] as? Int ?? -1, $0) })
        #expect(byIndex[1]?["a"] as? String == "nan")
        #expect(byIndex[1]?["absoluteDifference"] as? String == "nan")
        #expect(byIndex[3]?["a"] as? String == "inf")
        #expect(byIndex[3]?["excess"] as? String == "inf")
        #expect(byIndex[2]?["index"] as? [Int] == [0, 1, 0])
        #expect(byIndex[2]?["ulpDistance"] as? Int == 1 << 21)

        let truth = try #require(keys[0]["truth"] as? [String: Any])
        let sideB = try #require(truth["b"] as? [String: Any])
        #expect(sideB["verdict"] as? String == "beyondRounding")
        #expect(sideB["maxError"] as? String == "inf")
        #expect(truth["threshold"] as? Double == 28)
        let dxOutcome = try #require(keys[0]["outcome"] as? [String: Any])
        let dxComparison = try #require(dxOutcome["comparison"] as? [String: Any])
        let worst = try #require(dxComparison["worst"] as? [String: Any])
        #expect(worst["errorB"] as? String == "inf")
        #expect(worst["errorA"] as? Double == 0)
    }

    @Test func sortedKeysAndRoundTrip() throws {
        let report = sampleReport()
        let text = try report.json(command: "bnfile diff")
        let resultRange = try #require(text.range(of: "\"result\""))
        let modeRange = try #require(text.range(of: "\"mode\""))
        #expect(modeRange.lowerBound < resultRange.lowerBound)

        struct Document: Decodable { var keys: [KeyReport] }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoded = try decoder.decode(Document.self, from: Data(text.utf8))
        #expect(decoded.keys.map(\.key) == report.keys.map(\.key))
        #expect(decoded.keys[3].outcome == .shapeMismatch(a: [3], b: [4]))
        #expect(decoded.keys[0].truth?.b.verdict == .beyondRounding)
    }

    /// An offender is one flat JSON object, its figures beside its position and values,
    /// and it decodes back to itself.
    @Test func offenderIsOneFlatObjectThatDecodesBack() throws {
        let figures = ElementFigures(
            comparing: 3.5, 3, format: .float32,
            tolerance: Tolerance.resolved(for: .float32), equalNaN: false)
        let offender = Offender(flatIndex: 2, index: [0, 2], a: 3.5, b: 3, figures: figures, truth: 3, errorA: 4)
        let data = try JSONReport.encoder().encode(offender)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "flatIndex", "index", "a", "b", "kind", "matches", "absoluteDifference",
                "relativeDifference", "ulpDistance", "excess", "truth", "errorA",
            ])
        #expect(object["kind"] as? String == "finite" && object["matches"] as? Bool == false)
        #expect(try JSONDecoder().decode(Offender.self, from: data) == offender)
    }
}
