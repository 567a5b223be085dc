import BigInt
import TestSupport
import Testing

@testable import ExactBatchNorm

/// The exact core checked against operations IEEE 754 itself defines as correctly
/// rounded (division, square root), which makes them independent oracles.
@Suite struct ExactArithmeticTests {
    @Test func quotientsRoundLikeIEEEDivision() {
        var rng = SplitMix(state: 1)
        for _ in 0..<2000 {
            let a =
                Double.random(in: -1e6...1e6, using: &rng)
                * Double(sign: .plus, exponent: Int.random(in: -40...40, using: &rng), significand: 1)
            let b = Double.random(in: 1e-3...1e3, using: &rng)
            let e = ExactExpression(ExactRational(exactly: a) / ExactRational(exactly: b))
            #expect(Double(exactly: e) == a / b)
            #expect(
                Float(exactly: e)
                    == Float(exactly: ExactExpression(ExactRational(exactly: a) / ExactRational(exactly: b))))
        }
    }

    @Test func squareRootsRoundLikeIEEESqrt() {
        var rng = SplitMix(state: 2)
        for _ in 0..<2000 {
            let v = Double.random(in: 0...1e10, using: &rng)
            let e = ExactExpression(.zero, plus: .one, timesSqrtOf: ExactRational(exactly: v))
            #expect(Double(exactly: e) == v.squareRoot())
            let f = Float(Double.random(in: 0...100, using: &rng))
            let ef = ExactExpression(.zero, plus: .one, timesSqrtOf: ExactRational(exactly: Double(f)))
            #expect(Float(exactly: ef) == f.squareRoot())
        }
    }

    @Test func sumsOfARationalAndARootRoundLikeFusedOperations() {
        // a + 1*sqrt(c*c) = a + |c|: rounding must match IEEE addition of two doubles.
        var rng = SplitMix(state: 3)
        for _ in 0..<1000 {
            let a = Double.random(in: -10...10, using: &rng)
            let c = Double.random(in: -10...10, using: &rng)
            let e = ExactExpression(
                ExactRational(exactly: a), plus: .one,
                timesSqrtOf: ExactRational(exactly: c) * ExactRational(exactly: c))
            #expect(Double(exactly: e) == a + c.magnitude)
            // And a - sqrt(c^2) = a - |c|.
            let f = ExactExpression(
                ExactRational(exactly: a), plus: -.one,
                timesSqrtOf: ExactRational(exactly: c) * ExactRational(exactly: c))
            #expect(Double(exactly: f) == a - c.magnitude)
        }
    }

    @Test func tiesGoToEven() {
        // 1 + 2^-24 is halfway between two floats: ties to even gives 1.
        let tie = ExactExpression(ExactRational(dyadic: 1, exponent: 0) + ExactRational(dyadic: 1, exponent: -24))
        #expect(Float(exactly: tie) == 1)
        // 1 + 3*2^-24 is halfway between 1+2^-23 and 1+2^-22: even is 1+2^-22.
        let tie2 = ExactExpression(ExactRational(1) + ExactRational(dyadic: 3, exponent: -24))
        #expect(Float(exactly: tie2) == 1 + 0x1p-22)
        // A tie reached through a square root: 1 + sqrt(2^-48) = 1 + 2^-24.
        let tie3 = ExactExpression(.one, plus: .one, timesSqrtOf: ExactRational(dyadic: 1, exponent: -48))
        #expect(Float(exactly: tie3) == 1)
    }

    @Test func subnormalsZerosAndOverflow() {
        let tiny = ExactExpression(ExactRational(dyadic: 3, exponent: -151))  // 1.5 * 2^-150
        #expect(Float(exactly: tiny) == Float.leastNonzeroMagnitude)
        let half = ExactExpression(ExactRational(dyadic: 1, exponent: -150))  // exactly half the least subnormal
        #expect(Float(exactly: half) == 0)
        let negTiny = ExactExpression(ExactRational(dyadic: -1, exponent: -200))
        let z = Float(exactly: negTiny)
        #expect(z == 0 && z.sign == .minus)
        let exactZero = ExactExpression(.one, plus: -.one, timesSqrtOf: .one)
        let z2 = Double(exactly: exactZero)
        #expect(z2 == 0 && z2.sign == .plus)
        let huge = ExactExpression(ExactRational(dyadic: 1, exponent: 128))
        #expect(Float(exactly: huge) == .infinity)
        // Just below the overflow threshold (max + half ulp) stays finite.
        let belowThreshold = ExactExpression(
            ExactRational(exactly: Double(Float.greatestFiniteMagnitude)) + ExactRational(dyadic: 1, exponent: 103)
                - ExactRational(dyadic: 1, exponent: 60))
        #expect(Float(exactly: belowThreshold) == .greatestFiniteMagnitude)
        let atThreshold = ExactExpression(
            ExactRational(exactly: Double(Float.greatestFiniteMagnitude)) + ExactRational(dyadic: 1, exponent: 103))
        #expect(Float(exactly: atThreshold) == .infinity)
        #expect(Float16(exactly: ExactExpression(ExactRational(70000))) == .infinity)
        #expect(Float16(exactly: ExactExpression(ExactRational(dyadic: 1, exponent: -24))) == .leastNonzeroMagnitude)
    }

    @Test func accumulatorIsExactAndOrderIndependent() {
        var rng = SplitMix(state: 4)
        var values: [Double] = []
        for _ in 0..<3000 {
            let e = Int.random(in: -300...300, using: &rng)
            values.append(Double.random(in: -1...1, using: &rng) * Double(sign: .plus, exponent: e, significand: 1))
        }
        values.append(1e300)
        values.append(-1e300)
        values.append(Double.leastNonzeroMagnitude)
        var forward = ExactAccumulator()
        for v in values { forward.add(v) }
        var backward = ExactAccumulator()
        for v in values.reversed() { backward.add(v) }
        var reference = ExactRational.zero
        for v in values { reference = reference + ExactRational(exactly: v) }
        #expect(ExactRational.compare(forward.value, reference) == 0)
        #expect(ExactRational.compare(backward.value, reference) == 0)
        // The readout handles negative totals (two's complement across many digits) and
        // totals that cancel to a single low bit.
        var negated = ExactAccumulator()
        for v in values { negated.add(-v) }
        #expect(ExactRational.compare(negated.value, -reference) == 0)
        var cancelling = ExactAccumulator()
        cancelling.add(-0x1p200)
        cancelling.add(0x1p200)
        cancelling.add(-0x1p-1000)
        #expect(ExactRational.compare(cancelling.value, ExactRational(exactly: -0x1p-1000)) == 0)
        // Block extraction agrees with one-by-one accumulation.
        var blocked = ExactAccumulator()
        let scratch = BlockSummation.allocateScratch(blocks: 1)
        defer { scratch.deallocate() }
        var i = 0
        while i < values.count {
            let n = min(BlockSummation.blockSize, values.count - i)
            for k in 0..<n { scratch[k] = values[i + k] }
            let padded = BlockSummation.paddedCount(n)
            for k in n..<padded { scratch[k] = 0 }
            let largest = UnsafeBufferPointer(start: scratch, count: padded).map(\.magnitude).max()!
            BlockSummation.addExactSum(scratch, count: padded, largest: largest, to: &blocked)
            i += n
        }
        #expect(ExactRational.compare(blocked.value, reference) == 0)
    }

    @Test func productsAccumulateExactly() {
        var acc = ExactAccumulator()
        let a = 1 + 0x1p-52, b = 1 - 0x1p-53
        acc.addProduct(a, b)
        let expected = ExactRational(exactly: a) * ExactRational(exactly: b)
        #expect(ExactRational.compare(acc.value, expected) == 0)
        var tiny = ExactAccumulator()
        tiny.addProduct(Double.leastNonzeroMagnitude, -Double.leastNonzeroMagnitude)
        #expect(ExactRational.compare(tiny.value, ExactRational(dyadic: -1, exponent: -2148)) == 0)
    }
}

@Suite struct IntegerSquareRootTests {
    @Test func matchesTheDefinitionAcrossSizes() {
        var rng = SplitMix(state: 9)
        for bits in [1, 10, 52, 53, 60, 64, 100, 104, 105, 200, 333, 1000] {
            for _ in 0..<20 {
                var n = BigInt(0)
                for _ in 0..<(bits + 63) / 64 { n = (n << 64) + BigInt(rng.next()) }
                n = n >> max(0, ((bits + 63) / 64) * 64 - bits)
                for candidate in [n, n * n, n * n - 1, n * n + 1] where candidate >= 0 {
                    let r = candidate.integerSquareRoot()
                    #expect(r * r <= candidate && (r + 1) * (r + 1) > candidate)
                }
            }
        }
    }
}
