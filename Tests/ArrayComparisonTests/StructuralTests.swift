import Testing

@testable import ArrayComparison

@Suite struct StructuralTests {
    @Test func structuralOutcomesAlwaysDiffer() {
        let outcomes: [KeyOutcome] = [
            .onlyInA, .onlyInB, .shapeMismatch(a: [2, 3], b: [3, 2]), .dtypeMismatch(a: "<f4", b: "<f8"),
        ]
        for outcome in outcomes {
            let report = KeyReport(key: "k", outcome: outcome)
            #expect(report.differs, "\(outcome.kind)")
            #expect(outcome.comparison == nil)
            #expect(DiffReport(fileA: "a", fileB: "b", keys: [report]).result == .differ)
        }
        #expect(KeyOutcome.shapeMismatch(a: [2, 3], b: [3, 2]).structuralDescription == "shape (2, 3) vs (3, 2)")
        #expect(KeyOutcome.shapeMismatch(a: [5], b: []).structuralDescription == "shape (5,) vs ()")
        #expect(KeyOutcome.dtypeMismatch(a: "<f4", b: "<f8").structuralDescription == "dtype <f4 vs <f8")
        #expect(KeyOutcome.onlyInB.structuralDescription == "only in B")
    }

    @Test func matchingKeysMakeTheRunTheSame() {
        let same = KeyReport.compare(
            key: "x", a: [1, 2], b: [1, 2], shape: [2], format: .float32,
            tolerance: .torchDefault(for: .float32))
        #expect(!same.differs)
        let report = DiffReport(fileA: "a", fileB: "b", keys: [same])
        #expect(report.result == .same)
        #expect(report.result.rawValue == 0)
        #expect(DiffResult.differ.rawValue == 1)
        #expect(report.mode == "plain")
    }

    @Test func oneMismatchedKeyMakesTheRunDiffer() {
        let same = KeyReport.compare(
            key: "x", a: [1], b: [1], shape: [1], format: .float32,
            tolerance: .torchDefault(for: .float32))
        let bad = KeyReport.compare(
            key: "y", a: [1], b: [2], shape: [1], format: .float32,
            tolerance: .torchDefault(for: .float32))
        let report = DiffReport(fileA: "a", fileB: "b", keys: [same, bad])
        #expect(report.result == .differ)
        #expect(report.differingKeys.map(\.key) == ["y"])
    }
}
