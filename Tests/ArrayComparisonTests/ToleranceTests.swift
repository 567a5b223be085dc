import Testing

@testable import ArrayComparison

@Suite struct ToleranceTests {
    @Test func torchDefaults() {
        let expected: [(FloatFormat, Double, Double)] = [
            (.float16, 1e-3, 1e-5), (.bfloat16, 1.6e-2, 1e-5), (.float32, 1.3e-6, 1e-5), (.float64, 1e-7, 1e-7),
        ]
        for (format, rtol, atol) in expected {
            let tolerance = Tolerance.torchDefault(for: format)
            #expect(tolerance.rtol == rtol)
            #expect(tolerance.atol == atol)
            #expect(tolerance.source == "torch.testing.assert_close default for \(format.rawValue)")
        }
    }

    @Test func flagsOverrideOnlyTheirOwnPart() {
        let rtolOnly = Tolerance.resolved(for: .float32, rtol: 1e-3)
        #expect(rtolOnly.rtol == 1e-3)
        #expect(rtolOnly.atol == 1e-5)
        #expect(rtolOnly.source == "--rtol flag; atol: torch.testing.assert_close default for float32")

        let atolOnly = Tolerance.resolved(for: .float64, atol: 0)
        #expect(atolOnly.rtol == 1e-7)
        #expect(atolOnly.atol == 0)
        #expect(atolOnly.source.hasPrefix("--atol flag"))

        let both = Tolerance.resolved(for: .float16, rtol: 0, atol: 0)
        #expect(both == Tolerance(rtol: 0, atol: 0, source: "--rtol/--atol flag"))

        #expect(Tolerance.resolved(for: .bfloat16) == .torchDefault(for: .bfloat16))
    }

    @Test func acceptanceIsInclusiveAndUsesTheReference() {
        let tolerance = Tolerance(rtol: 0.5, atol: 1, source: "test")
        #expect(tolerance.accepts(4, reference: 2))  // |2| <= 1 + 0.5*2
        #expect(!tolerance.accepts(4.5, reference: 2))  // 2.5 > 2
        #expect(tolerance.accepts(2, reference: 4.5))  // 2.5 <= 1 + 2.25: b is the reference
        #expect(tolerance.allowance(reference: -4) == 3)
    }
}
