import Testing

@testable import ArrayComparison

@Suite struct FloatFormatTests {
    @Test func precisionAndUnitRoundoff() {
        #expect(FloatFormat.float16.precision == 11)
        #expect(FloatFormat.bfloat16.precision == 8)
        #expect(FloatFormat.float32.precision == 24)
        #expect(FloatFormat.float64.precision == 53)
        #expect(FloatFormat.float32.unitRoundoff == Double(Float.ulpOfOne) / 2)
        #expect(FloatFormat.float64.unitRoundoff == Double.ulpOfOne / 2)
        #expect(FloatFormat.float16.unitRoundoff == 1.0 / 2048)
        #expect(FloatFormat.bfloat16.unitRoundoff == 1.0 / 256)
    }

    @Test func rangeLimitsMatchNativeTypes() {
        #expect(FloatFormat.float32.smallestNormal == Double(Float.leastNormalMagnitude))
        #expect(FloatFormat.float32.leastNonzeroMagnitude == Double(Float.leastNonzeroMagnitude))
        #expect(FloatFormat.float32.greatestFiniteMagnitude == Double(Float.greatestFiniteMagnitude))
        #expect(FloatFormat.float64.smallestNormal == Double.leastNormalMagnitude)
        #expect(FloatFormat.float64.leastNonzeroMagnitude == Double.leastNonzeroMagnitude)
        #expect(FloatFormat.float64.greatestFiniteMagnitude == Double.greatestFiniteMagnitude)
        #expect(FloatFormat.float16.smallestNormal == 6.103515625e-05)
        #expect(FloatFormat.float16.leastNonzeroMagnitude == 5.960464477539063e-08)
        #expect(FloatFormat.float16.greatestFiniteMagnitude == 65504)
        #expect(FloatFormat.bfloat16.smallestNormal == Double(Float.leastNormalMagnitude))
        #expect(FloatFormat.bfloat16.greatestFiniteMagnitude == 3.3895313892515355e38)
    }

    @Test(arguments: [1.0, 0.75, 3e-3, 1e20, -7.5, 1e-40, 0])
    func ulpOfMatchesFloat(_ x: Double) {
        #expect(FloatFormat.float32.ulp(of: x) == Double(Float(x).ulp))
        #expect(FloatFormat.float64.ulp(of: x) == x.ulp)
    }

    @Test func ulpOfSmallFormats() {
        #expect(FloatFormat.float16.ulp(of: 1) == 1.0 / 1024)
        #expect(FloatFormat.float16.ulp(of: 1000) == 0.5)
        #expect(FloatFormat.bfloat16.ulp(of: 1) == 1.0 / 128)
        #expect(FloatFormat.float16.ulp(of: 1e-6) == FloatFormat.float16.leastNonzeroMagnitude)
        #expect(FloatFormat.float32.ulp(of: .infinity).isNaN)
    }

    @Test func descrNames() {
        #expect(FloatFormat(descr: "<f4") == .float32)
        #expect(FloatFormat(descr: ">f8") == .float64)
        #expect(FloatFormat(descr: "<f2") == .float16)
        #expect(FloatFormat(descr: "bfloat16") == .bfloat16)
        #expect(FloatFormat(descr: "<V2") == nil)
        #expect(FloatFormat(descr: "<i4") == nil)
        #expect(FloatFormat.float32.canonicalDescr == "<f4")
    }
}
