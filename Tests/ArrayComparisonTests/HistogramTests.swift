import Testing

@testable import ArrayComparison

@Suite struct HistogramTests {
    @Test func ulpBuckets() {
        #expect(HistogramCounter.bucket(ulp: 0) == 0)
        #expect(HistogramCounter.bucket(ulp: 1) == 1)
        #expect(HistogramCounter.bucket(ulp: 2) == 2)
        #expect(HistogramCounter.bucket(ulp: 3) == 3)
        #expect(HistogramCounter.bucket(ulp: 4) == 3)
        #expect(HistogramCounter.bucket(ulp: 5) == 4)
        #expect(HistogramCounter.bucket(ulp: .max) == HistogramCounter.bucketCount - 1)
    }

    @Test func errorBuckets() {
        #expect(HistogramCounter.bucket(error: 0) == 0)
        #expect(HistogramCounter.bucket(error: 1e-300) == 1)
        #expect(HistogramCounter.bucket(error: 1) == 1)
        #expect(HistogramCounter.bucket(error: 1.5) == 2)
        #expect(HistogramCounter.bucket(error: 2) == 2)
        #expect(HistogramCounter.bucket(error: 2.01) == 3)
        #expect(HistogramCounter.bucket(error: 1e300) == HistogramCounter.bucketCount - 1)
    }

    @Test func comparisonHistogramCounts() {
        // Distances 0, 1, 2, 3, 4, 5 ulp from 1.0 in float32, plus a NaN disagreement.
        var values: [Double] = []
        var x = Float(1)
        for _ in 0...5 {
            values.append(Double(x))
            x = x.nextUp
        }
        values.append(.nan)
        let b = Array(repeating: 1.0, count: values.count)
        let result = compare32(values, b, tolerance: Tolerance(rtol: 0, atol: 0, source: "t"))
        let h = result.histogram
        #expect(h.unit == "ulp")
        #expect(h.buckets.map(\.count) == [1, 1, 1, 2, 1])  // exact, <=1, <=2, <=4, <=8
        #expect(h.buckets.map(\.upperBound) == [0, 1, 2, 4, 8])
        #expect(h.nonFinite == 1)
        #expect(h.beyondLimit == 6)
        #expect(h.limitLabel == "beyond tolerance")
    }

    @Test func rendersBarsScaledToTheLargestCount() {
        let h = ErrorHistogram(
            unit: "ulp",
            buckets: [
                .init(lowerBound: 0, upperBound: 0, count: 100),
                .init(lowerBound: 0, upperBound: 1, count: 50),
                .init(lowerBound: 1, upperBound: 2, count: 0),
                .init(lowerBound: 2, upperBound: 4, count: 1),
            ],
            nonFinite: 0, beyondLimit: 1, limitLabel: "beyond tolerance")
        let text = HistogramRenderer.render(h, title: "out", color: false)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "out: ulp, 151 elements")
        #expect(lines[1] == "  exact     ####################  100")
        #expect(lines[2] == "  <= 1 ulp  ##########..........  50")
        #expect(lines[3] == "  <= 2 ulp  ....................  0")
        #expect(lines[4] == "  <= 4 ulp  #...................  1")  // one element still shows
        #expect(lines[5] == "  beyond tolerance: 1")
        #expect(
            HistogramRenderer.label(.init(lowerBound: 1_073_741_824, upperBound: .infinity, count: 1), unit: "ulp")
                == "> 2^30 ulp")
    }

    @Test func emptyRunsCollapseIntoOneRow() {
        var counter = HistogramCounter()
        counter.add(ulp: 0)
        counter.add(ulp: 2)
        counter.add(ulp: 1 << 21)
        counter.add(ulp: 1 << 21)
        let h = counter.histogram(unit: "ulp", limitLabel: "beyond tolerance")
        #expect(h.buckets.count == 23)  // the data keep every bucket
        let lines = HistogramRenderer.render(h, title: "dx", color: false).split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        #expect(lines[2] == "  <= 1 ulp       ....................  0")  // a single empty bucket stays
        #expect(lines[4] == "  (2, 2^20] ulp  ....................  0")
        #expect(lines[5] == "  <= 2^21 ulp    ####################  2")

        var low = HistogramCounter()
        low.add(ulp: 5)
        let lowLines = HistogramRenderer.render(low.histogram(unit: "ulp", limitLabel: "x"), title: "t", color: false)
        #expect(lowLines.contains("(0, 4] ulp"))
    }
}
