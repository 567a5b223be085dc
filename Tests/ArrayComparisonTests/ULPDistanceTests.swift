import Testing

@testable import ArrayComparison

@Suite struct ULPDistanceTests {
    @Test func float64Neighbours() {
        let f = FloatFormat.float64
        #expect(f.ulpDistance(1, 1.0.nextUp) == 1)
        #expect(f.ulpDistance(1, 1.0.nextDown) == 1)
        #expect(f.ulpDistance(1, 2) == 1 << 52)
        #expect(f.ulpDistance(0.1, 0.1) == 0)
        #expect(f.ulpDistance(.greatestFiniteMagnitude, .infinity) == 1)
    }

    @Test func float32Neighbours() {
        let f = FloatFormat.float32
        for x: Float in [1, 0.1, Float(bitPattern: 0x0026_1D5C), 1e30, -2.75, Float.leastNormalMagnitude] {
            #expect(f.ulpDistance(Double(x), Double(x.nextUp)) == 1, "at \(x)")
            #expect(f.ulpDistance(Double(x), Double(x.nextUp.nextUp.nextUp)) == 3, "at \(x)")
        }
        #expect(f.ulpDistance(1, 2) == 1 << 23)
        #expect(f.ulpDistance(Double(Float.greatestFiniteMagnitude), .infinity) == 1)
    }

    @Test func acrossZero() {
        let f = FloatFormat.float32
        let tiny = Double(Float.leastNonzeroMagnitude)
        #expect(f.ulpDistance(-tiny, tiny) == 2)
        #expect(f.ulpDistance(0, -0.0) == 0)
        #expect(f.ulpDistance(-0.0, tiny) == 1)
        // Typed constants: the expectation macro's capture of an arithmetic literal
        // against an Optional<UInt64> trips AddressSanitizer in Swift 6.3's runtime.
        let oneToMinusOne: UInt64 = 2 * 0x3F80_0000, infinities: UInt64 = 2 * 0x7F80_0000
        let halfRange: UInt64 = 2 * 0x3C00
        #expect(f.ulpDistance(-1, 1) == oneToMinusOne)
        #expect(f.ulpDistance(-.infinity, .infinity) == infinities)
        #expect(FloatFormat.float64.ulpDistance(-Double.leastNonzeroMagnitude, Double.leastNonzeroMagnitude) == 2)
        #expect(FloatFormat.float16.ulpDistance(-1, 1) == halfRange)
    }

    @Test func nanHasNoDistance() {
        #expect(FloatFormat.float32.ulpDistance(.nan, 1) == nil)
        #expect(FloatFormat.float16.ulpDistance(0, .nan) == nil)
        #expect(FloatFormat.float64.ulpDistance(.nan, .nan) == nil)
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func float16AgreesWithNativeType() {
        let f = FloatFormat.float16
        for x: Float16 in [1, 0.1, -3, 65504, 6.1e-5, 1e-7, 2048, -0.333] {
            #expect(f.ulpDistance(Double(x), Double(x.nextUp)) == 1, "at \(x)")
            #expect(f.magnitudePattern(abs(Double(x))) == UInt64(abs(x).bitPattern), "at \(x)")
        }
        #expect(f.ulpDistance(65504, .infinity) == 1)
        // Not representable: rounded to nearest float16 first.
        #expect(f.magnitudePattern(1.0 + 1.0 / 4096) == UInt64(Float16(1).bitPattern))
        #expect(f.magnitudePattern(1e6) == UInt64(Float16.infinity.bitPattern))
    }

    @Test func everyFloat16PatternRoundTrips() {
        var wrong = 0
        for bits in UInt16(0)...0x7C00
        where FloatFormat.float16.magnitudePattern(Double(Float16(bitPattern: bits))) != UInt64(bits) {
            wrong += 1
        }
        #expect(wrong == 0)
    }
    #endif

    @Test func everyBfloat16PatternRoundTrips() {
        var wrong = 0
        for bits in UInt32(0)...0x7F80
        where FloatFormat.bfloat16.magnitudePattern(Double(Float(bitPattern: bits << 16))) != UInt64(bits) {
            wrong += 1
        }
        #expect(wrong == 0)
    }

    @Test func bfloat16IsTopHalfOfFloat32() {
        let f = FloatFormat.bfloat16
        // 1, -2.5, pi-ish, greatest finite, least subnormal, least normal.
        for top: UInt32 in [0x3F80, 0xC020, 0x4049, 0x7F7F, 0x0001, 0x0080] {
            let x = Float(bitPattern: top << 16)
            #expect(f.magnitudePattern(Double(abs(x))) == UInt64(top & 0x7FFF), "at \(x)")
        }
        #expect(f.ulpDistance(1, 1.0078125) == 1)
        #expect(f.ulpDistance(1, 2) == 128)
    }

    @Test func computedPatternAgreesWithHardwareForNativeFormats() {
        for x in [
            1.0, 0.1, Double(bitPattern: 0x0001_2345_6789_ABCD), .leastNonzeroMagnitude, 123456.789,
            .greatestFiniteMagnitude, .infinity,
        ] {
            #expect(FloatFormat.float64.computedMagnitudePattern(x) == x.bitPattern, "at \(x)")
        }
        for x: Float in [1, 0.1, Float(bitPattern: 0x0001_16C2), .leastNonzeroMagnitude, 3e38, .infinity] {
            #expect(FloatFormat.float32.computedMagnitudePattern(Double(x)) == UInt64(x.bitPattern), "at \(x)")
        }
    }

    @Test func computedRoundingMatchesHardwareConversion() {
        // Ties to even, a carry into the exponent, overflow, subnormal rounding, and a
        // spread of arbitrary doubles: all must land where Float(x) lands.
        var samples: [Double] = [
            1 + 0x1p-24, 1 + 3 * 0x1p-24, 2 - 0x1p-25, 3.4028235677973366e38,
            3.5e38, 0x1p-149 * 0.5, 0x1p-149 * 1.5, 0x1p-126 * (1 - 0x1p-30),
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let x = Double(bitPattern: state >> 2)  // positive, any exponent
            if x.isFinite { samples.append(x) }
        }
        let wrong = samples.filter {
            FloatFormat.float32.computedMagnitudePattern($0) != UInt64(Float($0).bitPattern)
        }
        #expect(wrong.isEmpty, "first: \(wrong.prefix(3))")
    }
}
