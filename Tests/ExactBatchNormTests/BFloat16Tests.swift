import BigInt
import Testing

@testable import ExactBatchNorm

/// The bfloat16 type: widening is exact, every narrowing rounds once to nearest-even
/// with subnormals and overflow, and arithmetic rounds as its notes claim. Most checks
/// run over all 65,536 encodings; the references are float32 (whose upper half a
/// bfloat16 is) and midpoints built exactly in double.
@Suite struct BFloat16Tests {
    /// Every encoding, NaNs included.
    static let allEncodings = (0...UInt16.max).map(BFloat16.init(bitPattern:))
    /// Finite encodings of either sign.
    static let finite = allEncodings.filter { $0.float.isFinite }

    @Test func widensExactlyThroughEveryPath() {
        for b in Self.allEncodings {
            let f = Float(bitPattern: UInt32(b.bitPattern) << 16)
            #expect(b.float.bitPattern == f.bitPattern)
            if f.isNaN {
                #expect(b.isNaN && Double(b).isNaN && b.exactDouble.isNaN)
                continue
            }
            #expect(b.exactDouble == Double(f) && b.exactDouble.sign == f.sign)
            #expect(Double(b) == Double(f), "generic conversion of \(b.bitPattern)")
            #expect(Float(b) == f)
            #expect(b.isZero == f.isZero && b.isSubnormal == f.isSubnormal && b.isInfinite == f.isInfinite)
            #expect(b.isNormal == f.isNormal && b.isFinite == f.isFinite && b.sign == f.sign)
        }
    }

    @Test func narrowingRoundTripsEveryValue() {
        for b in Self.allEncodings where !b.isNaN {
            #expect(BFloat16(roundingDouble: b.exactDouble).bitPattern == b.bitPattern)
            #expect(BFloat16(roundingFloat: b.float).bitPattern == b.bitPattern)
            #expect(BFloat16(b.float).bitPattern == b.bitPattern)
        }
    }

    /// Between each finite value and the next larger magnitude, the midpoint goes to the
    /// even encoding, and one double (or float) ulp either side goes to the nearer one.
    /// Covers subnormals (quantum 2^-133), the normal boundary and overflow: the midpoint
    /// above the largest finite value has an odd neighbour below, so it goes to infinity.
    @Test func roundsMidpointsToEvenAndNeighboursToNearest() {
        for low in Self.finite where low.bitPattern & 0x7FFF < 0x7F80 {
            let high = BFloat16(bitPattern: low.bitPattern + 1)  // next magnitude (may be infinity)
            let highValue = high.isInfinite ? Double(sign: low.sign, exponent: 128, significand: 1) : high.exactDouble
            let mid = (low.exactDouble + highValue) / 2  // exact: 9 significant bits
            let even = low.bitPattern & 1 == 0 ? low : high
            #expect(BFloat16(roundingDouble: mid).bitPattern == even.bitPattern, "midpoint above \(low.bitPattern)")
            let outward = low.sign == .plus ? mid.nextUp : mid.nextDown
            let inward = low.sign == .plus ? mid.nextDown : mid.nextUp
            #expect(BFloat16(roundingDouble: outward).bitPattern == high.bitPattern)
            #expect(BFloat16(roundingDouble: inward).bitPattern == low.bitPattern)
            let midFloat = Float(mid)
            #expect(Double(midFloat) == mid)
            #expect(BFloat16(roundingFloat: midFloat).bitPattern == even.bitPattern)
            let outwardFloat = low.sign == .plus ? midFloat.nextUp : midFloat.nextDown
            #expect(BFloat16(roundingFloat: outwardFloat).bitPattern == high.bitPattern)
        }
    }

    @Test func tinyValuesKeepTheirSignAndNaNStaysNaN() {
        let belowHalfQuantum = BFloat16(roundingDouble: -0x1p-135)
        #expect(belowHalfQuantum.isZero && belowHalfQuantum.sign == .minus)
        #expect(BFloat16(roundingDouble: 0x1p-134).bitPattern == 0)  // tie with 0: even
        #expect(BFloat16(roundingDouble: 0x1.8p-134).bitPattern == 1)
        #expect(BFloat16(roundingDouble: 0x1p-1074).bitPattern == 0)
        #expect(BFloat16(roundingDouble: .greatestFiniteMagnitude).bitPattern == 0x7F80)
        #expect(BFloat16(roundingDouble: -.infinity).bitPattern == 0xFF80)
        #expect(BFloat16(roundingDouble: .nan).isNaN)
        #expect(BFloat16(roundingDouble: -Double.nan).isNaN)
        #expect(BFloat16(roundingFloat: .signalingNaN).isNaN)
        #expect(BFloat16(roundingDouble: 1.0).bitPattern == 0x3F80)
    }

    @Test func exactRoundingMatchesTheDirectConversion() {
        // The engine rounds its exact values through BinaryFormat.bfloat16 and the
        // generic RoundedValue path; on dyadic rationals it must agree with the direct
        // conversion from double for every encoding's midpoint neighbourhood.
        var rng = TestGenerator(state: 14)
        for _ in 0..<4000 {
            let b = Self.finite[Int(rng.next() % UInt64(Self.finite.count))]
            let offset = (Double(rng.next() % 1000) / 500 - 1) * b.ulp.exactDouble
            let value = b.exactDouble + offset
            let exact = BFloat16(exactly: ExactExpression(ExactRational(exactly: value)))
            #expect(exact.bitPattern == BFloat16(roundingDouble: value).bitPattern, "\(value)")
        }
        let viaRoot = BFloat16(
            exactly: ExactExpression(.one, plus: .one, timesSqrtOf: ExactRational(dyadic: 1, exponent: -16)))
        #expect(viaRoot.bitPattern == 0x3F80)  // 1 + 2^-8 is a tie: even is 1
    }

    @Test func arithmeticIsCorrectlyRounded() {
        var rng = TestGenerator(state: 7)
        for _ in 0..<20000 {
            let a = Self.finite[Int(rng.next() % UInt64(Self.finite.count))]
            let b = Self.finite[Int(rng.next() % UInt64(Self.finite.count))]
            // Products of 8-bit significands are exact in double; so are sums whose
            // exponents are close, which the check below picks out.
            #expect(
                (a * b).bitPattern == BFloat16(roundingDouble: a.exactDouble * b.exactDouble).bitPattern
                    || (a * b).isNaN)
            let sum = a.exactDouble + b.exactDouble
            if sum - a.exactDouble == b.exactDouble, !(a + b).isZero {
                #expect((a + b).bitPattern == BFloat16(roundingDouble: sum).bitPattern)
            }
            if !b.isZero {
                let q = a.exactDouble / b.exactDouble  // 53 >= 2*8+2: double rounding is harmless
                #expect((a / b).bitPattern == BFloat16(roundingDouble: q).bitPattern || q.isNaN)
            }
        }
        #expect(BFloat16(2).squareRoot().bitPattern == BFloat16(roundingDouble: 2.0.squareRoot()).bitPattern)
    }

    @Test func fusedMultiplyAddRoundsOnce() {
        // 3 * 87 = 261 is the midpoint of 260 and 262; the tiny addend decides the side,
        // which a plain double sum (261 exactly, then a tie to even 260) would lose.
        let three = BFloat16(3), eightySeven = BFloat16(87)
        let up = BFloat16(roundingDouble: 0x1p-100).addingProduct(three, eightySeven)
        let down = BFloat16(roundingDouble: -0x1p-100).addingProduct(three, eightySeven)
        #expect(up == 262 && down == 260)
        #expect(BFloat16(0).addingProduct(three, eightySeven) == 260)
    }

    @Test func integersAndOtherFormats() {
        #expect(BFloat16(257).exactDouble == 256)  // tie: even
        #expect(BFloat16(259).exactDouble == 260)
        #expect(BFloat16(Int64.max).exactDouble == 0x1p63)
        #expect(BFloat16(UInt64.max - 1).exactDouble == 0x1p64)
        // 2^60 + 2^52 + 1 is just above a midpoint; a double (2^60 + 2^52) is a tie.
        #expect(BFloat16(Int64(1) << 60 + Int64(1) << 52 + 1).exactDouble == 0x1.02p60)
        #expect(BFloat16(exactly: 255) == 255 && BFloat16(exactly: 257) == nil)
        #expect(BFloat16(exactly: 0.5 as Double) == 0.5 && BFloat16(exactly: 0.1 as Double) == nil)
        #expect(BFloat16(Float16(1.5)).exactDouble == 1.5)
        #expect(Float16(BFloat16(1e30)).isInfinite)
        #expect(BFloat16.greatestFiniteMagnitude.exactDouble == 0x1.FEp127)
        #expect(BFloat16.leastNonzeroMagnitude.exactDouble == 0x1p-133)
        #expect(BFloat16(1).ulp.exactDouble == 0x1p-7 && BFloat16.leastNormalMagnitude.ulp.exactDouble == 0x1p-133)
        #expect(BFloat16(1).nextUp.exactDouble == 1 + 0x1p-7)
        #expect((-BFloat16.leastNonzeroMagnitude).nextUp.isZero)
        #expect(BFloat16.pi.exactDouble <= Double.pi && BFloat16.pi.nextUp.exactDouble > Double.pi)
    }

    @Test func vectorsHaveThePackedLayout() {
        let encodings: [UInt16] = [0x3F80, 0xC000, 0x0001, 0x7F80, 0x8000, 0x4049, 0x7F7F, 0x0080]
        let v = encodings.withUnsafeBytes { $0.loadUnaligned(as: SIMD8<BFloat16>.self) }
        #expect(MemoryLayout<SIMD8<BFloat16>>.size == 16)
        for lane in 0..<8 { #expect(v[lane].bitPattern == encodings[lane]) }
        let widened = SIMD8<Double>(v)
        for lane in 0..<8 { #expect(widened[lane] == v[lane].exactDouble) }
    }
}

/// The fast path's cheaper certificate for bfloat16 outputs: whenever it is certain, both
/// ends (and so everything between) round to its answer; near every midpoint it doubts.
@Suite struct BFloat16CertificateTests {
    @Test func certainOnlyWhenBothEndsRoundToTheAnswer() {
        var rng = TestGenerator(state: 21)
        var certain = 0
        for _ in 0..<200_000 {
            let b = BFloat16Tests.finite[Int(rng.next() % UInt64(BFloat16Tests.finite.count))]
            let ulp = b.ulp.exactDouble
            let centre = b.exactDouble + (rng.uniform() - 0.5) * 2 * ulp
            let radius = rng.uniform() * ulp * (rng.next() % 2 == 0 ? 1e-6 : 0.5)
            let (value, doubt) = BFloat16.certainRounding(lower: centre - radius, upper: centre + radius)
            guard doubt == 0 else { continue }
            certain += 1
            let low = BFloat16(roundingDouble: centre - radius), high = BFloat16(roundingDouble: centre + radius)
            #expect(value.bitPattern == low.bitPattern && low.bitPattern == high.bitPattern, "\(centre) ± \(radius)")
        }
        #expect(certain > 100_000)
    }

    @Test func doubtsAtEveryMidpoint() {
        for low in BFloat16Tests.finite where low.bitPattern & 0x7FFF < 0x7F7F {
            let high = BFloat16(bitPattern: low.bitPattern + 1)
            let mid = (low.exactDouble + high.exactDouble) / 2
            // A tiny interval around the midpoint, and one just past it whose float32
            // rounding is the midpoint: neither may be certain.
            #expect(BFloat16.certainRounding(lower: mid, upper: mid).doubt != 0)
            #expect(BFloat16.certainRounding(lower: mid.nextUp, upper: mid.nextUp).doubt != 0)
        }
    }
}
