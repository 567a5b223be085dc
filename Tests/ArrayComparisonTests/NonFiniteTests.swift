import Testing

@testable import ArrayComparison

@Suite struct NonFiniteTests {
    @Test func nanInOneSideOnlyIsAMismatchAndRanksWorst() {
        let result = compare32([.nan, 1, 5], [1, .nan, 1])
        #expect(result.verdict == .mismatch)
        #expect(result.mismatched == 3)
        #expect(result.nonFinite.nanInAOnly == 1)
        #expect(result.nonFinite.nanInBOnly == 1)
        #expect(result.nonFinite.disagreements == 2)
        // NaN disagreements outrank the finite mismatch at index 2.
        #expect(result.worst?.flatIndex == 0)
        #expect(result.worst?.figures.ulpDistance == nil)
        #expect(result.topOffenders.last?.flatIndex == 2)
        // Greatest differences are over finite pairs only.
        #expect(result.maxAbsoluteDifference == 4)
        #expect(result.histogram.nonFinite == 2)
    }

    @Test func nanInBothSidesDependsOnEqualNaN() {
        let strict = compare32([.nan, 1], [.nan, 1])
        #expect(strict.verdict == .mismatch)
        #expect(strict.mismatched == 1)
        #expect(strict.nonFinite.nanInBoth == 1)
        #expect(strict.nonFinite.disagreements == 0)

        let lenient = compare32([.nan, 1], [.nan, 1], equalNaN: true)
        #expect(lenient.verdict == .match)
        #expect(lenient.nonFinite.nanInBoth == 1)
        #expect(lenient.worst == nil)
    }

    @Test func infinityAgainstFinite() {
        let result = compare32([.infinity, 2], [3, 2])
        #expect(result.verdict == .mismatch)
        #expect(result.nonFinite.infVsFinite == 1)
        #expect(result.worst?.figures.kind == .infVsFinite)
        #expect(result.worst?.figures.absoluteDifference == .infinity)
        #expect(result.maxAbsoluteDifference == 0)
    }

    @Test func sameInfinityMatches() {
        let result = compare32([.infinity, -.infinity], [.infinity, -.infinity])
        #expect(result.verdict == .match)
        #expect(result.nonFinite == NonFiniteCounts())
        #expect(result.histogram.buckets.first?.count == 2)
    }

    @Test func infinitiesOfOppositeSign() {
        let result = compare32([.infinity, 1], [-.infinity, 1])
        #expect(result.verdict == .mismatch)
        #expect(result.nonFinite.infOppositeSign == 1)
        #expect(result.nonFinite.infVsFinite == 0)
        #expect(result.worst?.figures.kind == .infOppositeSign)
        #expect(result.signFlips == 0)  // counted under infinities, not twice
    }

    @Test func elementFiguresForEachKind() {
        let tolerance = Tolerance.torchDefault(for: .float64)
        let figures = { (a: Double, b: Double) in
            ElementFigures(comparing: a, b, format: .float64, tolerance: tolerance, equalNaN: false)
        }
        #expect(figures(1, 1).kind == .finite)
        #expect(figures(.nan, .nan).kind == .bothNaN)
        #expect(figures(.nan, 0).kind == .nanInAOnly)
        #expect(figures(0, .nan).kind == .nanInBOnly)
        #expect(figures(.infinity, .infinity).kind == .sameInfinity)
        #expect(figures(-.infinity, 1).kind == .infVsFinite)
        #expect(figures(-.infinity, .infinity).kind == .infOppositeSign)
        #expect(figures(.infinity, .infinity).matches)
        #expect(!figures(.nan, .nan).matches)
    }
}
