import Foundation
import Testing

@testable import ArrayComparison

/// Shorthand for the common case: float32, torch's tolerance, channel axis 1.
func compare32(
    _ a: [Double], _ b: [Double], shape: [Int]? = nil, channelAxis: Int? = 1,
    equalNaN: Bool = false, topK: Int = 10, tolerance: Tolerance = .torchDefault(for: .float32)
) -> KeyComparison {
    KeyComparison.compare(
        a, b, shape: shape ?? [a.count], format: .float32, tolerance: tolerance,
        channelAxis: channelAxis, equalNaN: equalNaN, topK: topK)
}

@Suite struct KeyComparisonTests {
    @Test func identicalArraysMatchWithNothingToReport() {
        let values = [1.0, -2.5, 0, 3e-20]
        let result = compare32(values, values)
        #expect(result.verdict == .match)
        #expect(result.mismatched == 0)
        #expect(result.maxULPDistance == 0)
        #expect(result.maxAbsoluteDifference == 0)
        #expect(result.worst == nil)
        #expect(result.topOffenders.isEmpty)
        #expect(result.histogram.buckets.map(\.count) == [4])
    }

    @Test func withinToleranceMatchesButReportsTheDifferences() {
        let b = [1.0, 2.0, 3.0]
        let a = b.map { Double(Float($0).nextUp) }
        let result = compare32(a, b)
        #expect(result.verdict == .match)
        #expect(result.maxULPDistance == 1)
        #expect(result.worst?.figures.matches == true)
        #expect(result.topOffenders.count == 3)
        #expect(result.histogram.beyondLimit == 0)
    }

    @Test func mismatchFiguresAndWorstElement() {
        let result = compare32([1, 2, 3.5], [1, 2, 3])
        #expect(result.verdict == .mismatch)
        #expect(result.mismatched == 1)
        #expect(abs(result.mismatchedPercent - 100.0 / 3) < 1e-12)
        #expect(result.maxAbsoluteDifference == 0.5)
        #expect(result.maxRelativeDifference == 0.5 / 3)
        #expect(result.maxULPDistance == 1 << 21)  // 3 -> 3.5 in float32: 0.5 / 2^-22
        #expect(result.worst?.flatIndex == 2)
        #expect(result.worst?.a == 3.5)
        #expect(result.worst?.b == 3)
        #expect(result.histogram.beyondLimit == 1)
    }

    @Test func worstIsLargestExcessNotLargestAbsoluteDifference() {
        // 1000.1 vs 1000 is 0.1 off with an allowance of ~1.3e-3 (excess ~77);
        // 0.01 vs 0 is only 0.01 off but its allowance is 1e-5 (excess 1000).
        let result = compare32([1000.1, 0.01], [1000, 0])
        #expect(result.worst?.flatIndex == 1)
        #expect(result.topOffenders.map(\.flatIndex) == [1, 0])
        #expect(result.maxAbsoluteDifference > 0.09)
    }

    @Test func topKIsBoundedAndOrdered() {
        let b = [Double](repeating: 1, count: 50)
        var a = b
        for i in [7, 21, 40, 3] { a[i] = 1 + Double(i) }  // larger i, larger excess
        let result = compare32(a, b, topK: 3)
        #expect(result.topOffenders.map(\.flatIndex) == [40, 21, 7])
        #expect(result.mismatched == 4)
        let none = compare32(a, b, topK: 0)
        #expect(none.topOffenders.isEmpty)
        #expect(none.worst?.flatIndex == 40)
    }

    @Test func zeroReferencesGiveNoRelativeFigure() {
        let result = compare32([1e-8, 0, -2e-8], [0, 0, 0])
        #expect(result.verdict == .match)  // atol = 1e-5 absorbs the noise
        #expect(result.maxRelativeDifference == nil)
        let mixed = compare32([1e-8, 1.5], [0, 1])
        #expect(mixed.maxRelativeDifference == 0.5, "the zero reference is left out, not floored")
        let exact = compare32([0, 0], [0, -0.0])
        #expect(exact.maxRelativeDifference == nil)
        #expect(exact.worst == nil)
    }

    @Test func relativeDifferenceFloor() {
        #expect(ElementFigures.relativeDifference(3, reference: 2, tiny: 1e-3) == 0.5)
        #expect(ElementFigures.relativeDifference(1e-4, reference: 0, tiny: 1e-3) == 0.1)
    }

    @Test func emptyArraysMatch() {
        let result = compare32([], [], shape: [0])
        #expect(result.verdict == .match)
        #expect(result.total == 0)
        #expect(result.mismatchedPercent == 0)
        #expect(result.worst == nil)
        let empty3d = compare32([], [], shape: [2, 0, 3])
        #expect(empty3d.verdict == .match)
        #expect(empty3d.channels.isEmpty)
        #expect(empty3d.worstChannel == nil)
    }

    @Test func signFlipsCountOnlyNonzeroOppositeSigns() {
        let result = compare32([1e-3, -2, 0, 5, -0.0], [-1e-3, -2, -1e-9, -5, 0])
        #expect(result.signFlips == 2)
    }

    @Test func zeroToleranceMakesAnyDifferenceAMismatch() {
        let exact = Tolerance(rtol: 0, atol: 0, source: "--rtol/--atol flag")
        let result = compare32([1, Double(Float(1).nextUp)], [1, 1], tolerance: exact)
        #expect(result.mismatched == 1)
        #expect(result.worst?.figures.excess == .infinity)
        #expect(result.worst?.figures.ulpDistance == 1)
    }

    @Test func multiIndexIsRowMajor() {
        #expect(multiIndex(ofFlat: 0, shape: [2, 3, 4]) == [0, 0, 0])
        #expect(multiIndex(ofFlat: 23, shape: [2, 3, 4]) == [1, 2, 3])
        #expect(multiIndex(ofFlat: 13, shape: [2, 3, 4]) == [1, 0, 1])
        #expect(multiIndex(ofFlat: 0, shape: []) == [])
    }

    @Test func largeArrayCountsPlantedMismatches() {
        let n = 1 << 20
        let b = (0..<n).map { Double(Float(sin(Double($0)))) }
        var a = b
        for i in stride(from: 0, to: n, by: 4096) { a[i] += 0.5 }
        let result = KeyComparison.compare(
            a, b, shape: [4, 256, 1024], format: .float32,
            tolerance: .torchDefault(for: .float32), topK: 5)
        #expect(result.mismatched == n / 4096)
        #expect(result.topOffenders.count == 5)
        #expect(result.channels.count == 256)
        #expect(result.channels.map(\.mismatched).reduce(0, +) == n / 4096)
    }
}
