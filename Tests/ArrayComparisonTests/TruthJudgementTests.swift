import Testing

@testable import ArrayComparison

@Suite struct TruthJudgementTests {
    let u = FloatFormat.float32.unitRoundoff

    func judge(
        a: [Double], b: [Double], truth: [Double], scale: [Double],
        threshold: RoundingThreshold = .standard, m: Int = 280
    ) -> TruthJudgement {
        TruthJudgement.judge(
            a: a, b: b, truth: truth, scale: scale, shape: [truth.count],
            format: .float32, valuesPerChannel: m, threshold: threshold, topK: 3)
    }

    @Test func errorIsMeasuredInUnitsOfUTimesScale() {
        #expect(roundingError(value: 1 + 3 * u * 2, truth: 1, scale: 2, unitRoundoff: u) == 3)
        #expect(roundingError(value: 1, truth: 1, scale: 0, unitRoundoff: u) == 0)
        #expect(roundingError(value: -0.0, truth: 0, scale: 0, unitRoundoff: u) == 0)
        #expect(roundingError(value: 1e-30, truth: 0, scale: 0, unitRoundoff: u) == .infinity)
        // Below the normal range one subnormal step counts as about one rounding.
        let step = FloatFormat.float32.leastNonzeroMagnitude
        let truth32 = Double(Float.leastNormalMagnitude) / 16
        let e32 = roundingError(
            value: truth32 + step, truth: truth32, scale: truth32, unitRoundoff: u,
            subnormalStep: step)
        #expect(e32 > 0.9 && e32 <= 1)
        #expect(roundingError(value: 3 * step, truth: 0, scale: 0, unitRoundoff: u, subnormalStep: step) == 3)
        #expect(roundingError(value: .nan, truth: .nan, scale: 1, unitRoundoff: u) == 0)
        #expect(roundingError(value: .nan, truth: 1, scale: 1, unitRoundoff: u) == .infinity)
        #expect(roundingError(value: .infinity, truth: 1, scale: 1, unitRoundoff: u) == .infinity)
        // u*scale underflows for tiny float64 scales; the error must not become inf.
        let u64 = FloatFormat.float64.unitRoundoff
        let s = Double.leastNormalMagnitude / 1024
        let e = roundingError(value: 2 * s, truth: s, scale: s, unitRoundoff: u64)
        #expect(e == 1 / u64)
    }

    @Test func exactSides() {
        let result = judge(a: [1, -0.0, .nan], b: [1, 0, .nan], truth: [1, 0, .nan], scale: [1, 0, 1])
        #expect(result.a.verdict == .exact)
        #expect(result.b.verdict == .exact)
        #expect(result.a.maxError == 0)
        #expect(result.a.worst == nil)
        #expect(!result.beyondRounding)
    }

    @Test func withinAndBeyondRounding() {
        let truth = [1.0, 2.0, 0.0]
        let scale = [1.0, 4.0, 0.0]
        let a = [1 + 2 * u, 2 - 8 * u * 4, 0]  // errors 2 and 8
        let b = [1 + 5000 * u, 2, 0]  // error 5000
        let result = judge(a: a, b: b, truth: truth, scale: scale)
        #expect(result.threshold == 28)
        #expect(result.a.verdict == .withinRounding)
        #expect(result.a.maxError == 8)
        #expect(result.a.worst?.flatIndex == 1)
        #expect(result.a.topOffenders.map(\.flatIndex) == [1, 0])
        #expect(result.b.verdict == .beyondRounding)
        #expect(result.b.maxError == 5000)
        #expect(result.b.worst?.value == 1 + 5000 * u)
        #expect(result.b.worst?.truth == 1)
        #expect(result.beyondRounding)
        #expect(result.b.histogram.beyondLimit == 1)
    }

    @Test func zeroScaleDemandsExactness() {
        let result = judge(a: [0, 1], b: [1e-8, 1], truth: [0, 1], scale: [0, 1])
        #expect(result.a.verdict == .exact)
        #expect(result.b.verdict == .beyondRounding)
        // Counted in subnormal steps, since no term allows any rounding: 1e-8 is about
        // 7e36 of them.
        #expect(result.b.maxError > 1e36)
        #expect(result.b.histogram.beyondLimit == 1)
    }

    @Test func truthDecidesTheKeyNotTheTolerance() {
        let truth = TruthInput(values: [1, 2], scale: [1, 2], valuesPerChannel: 280)
        // A and B disagree by 3 ulp (a tolerance mismatch with zero tolerances) yet
        // both are within rounding of the truth: the key does not differ.
        let zero = Tolerance(rtol: 0, atol: 0, source: "--rtol/--atol flag")
        let within = KeyReport.compare(
            key: "dx", a: [1 + 2 * u, 2], b: [1 - 2 * u, 2], shape: [2],
            format: .float32, tolerance: zero, truth: truth)
        #expect(within.outcome.comparison?.verdict == .mismatch)
        #expect(!within.differs)
        #expect(within.outcome.comparison?.worst?.errorA == 2)
        #expect(within.outcome.comparison?.worst?.errorB == 2)
        #expect(within.outcome.comparison?.worst?.truth == 1)

        // A and B agree with each other but both are far from the truth.
        let wrong = KeyReport.compare(
            key: "dx", a: [1.5, 2], b: [1.5, 2], shape: [2], format: .float32,
            tolerance: .torchDefault(for: .float32), truth: truth)
        #expect(wrong.outcome.comparison?.verdict == .match)
        #expect(wrong.differs)
        let report = DiffReport(fileA: "a", fileB: "b", keys: [within, wrong])
        #expect(report.mode == "truth")
        #expect(report.result == .differ)
    }

    @Test func float64TruthForFloat32DataUsesFloat32Roundoff() {
        let truth = 1.0 / 3
        let stored = Double(Float(truth))  // one float32 rounding: at most u*|truth|
        let result = judge(a: [stored], b: [stored], truth: [truth], scale: [truth])
        #expect(result.unitRoundoff == u)
        #expect(result.a.verdict == .withinRounding)
        #expect(result.a.maxError <= 1)
    }
}

@Suite struct RoundingThresholdTests {
    @Test func standardLimits() {
        let t = RoundingThreshold.standard
        #expect(t.limit(valuesPerChannel: 1) == 10)
        #expect(t.limit(valuesPerChannel: 2) == 12)
        #expect(t.limit(valuesPerChannel: 256) == 26)
        #expect(t.limit(valuesPerChannel: 257) == 28)
        #expect(t.limit(valuesPerChannel: 280) == 28)
        #expect(t.limit(valuesPerChannel: 100_000_000) == 64)
        #expect(t.rule == "10 + 2*ceil(log2(M))")
    }

    @Test func separatesMeasuredTorchBehaviour() {
        let t = RoundingThreshold.standard
        for m in [280, 10_000, 100_000_000] {
            // Well-conditioned torch: 1 to 8 u*scale.
            #expect(8 <= t.limit(valuesPerChannel: m))
            // x = 1000 + 0.01*N(0,1) in float32: 5,000 to 42,500 u*scale.
            #expect(5_000 > t.limit(valuesPerChannel: m))
        }
        // The constant channel (248 in `out`) is the same cancellation, also flagged.
        #expect(248 > t.limit(valuesPerChannel: 280))
    }

    @Test func overrides() {
        #expect(RoundingThreshold.fixed(50).limit(valuesPerChannel: 1_000_000) == 50)
        #expect(RoundingThreshold.fixed(50).rule == "fixed 50")
        let custom = RoundingThreshold(operations: 4, reductionLevels: 1)
        #expect(custom.limit(valuesPerChannel: 1024) == 14)
        #expect(RoundingThreshold.ceilLog2(0) == 0)
        #expect(RoundingThreshold.ceilLog2(1025) == 11)
    }
}
