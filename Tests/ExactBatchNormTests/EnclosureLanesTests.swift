import Testing

@testable import ExactBatchNorm

/// The lane arithmetic of the certified solve (``EnclosureLanes``) lane by lane: a lane's
/// result must not depend on what the other lanes hold, the shortcut for exact factors
/// must give the general product's bits, and the rounding decision
/// (``EnclosureLanes/certified``) must hold up against exact rationals, the rare case
/// checked lane by lane (a narrower format's midpoint with the side unknown) included.
@Suite struct EnclosureLanesTests {
    /// Operands of every kind: exact and inexact, tiny and huge, short significands,
    /// near-cancelling pairs.
    static func operand(_ g: inout TestGenerator) -> Enclosure {
        let scale = Double(sign: .plus, exponent: Int(g.next() % 120) - 60, significand: 1)
        let hi = g.uniform() < 0.2 ? (1 + 0x1p-24) * scale : (g.uniform() - 0.5) * scale
        let lo = g.uniform() < 0.3 ? 0 : hi * (g.uniform() - 0.5) * 0x1p-53
        let radius = g.uniform() < 0.4 ? 0 : hi.magnitude * g.uniform() * 0x1p-95
        let sum = Enclosure(hi: hi) + Enclosure(hi: lo)
        return Enclosure(hi: sum.hi, lo: sum.lo, radius: radius)
    }

    /// What lanes beside the one under test may hold: values no channel's arithmetic
    /// should ever see, and that must not reach it.
    static let junk: [Enclosure] = [
        Enclosure(hi: .nan, lo: .nan, radius: .nan), Enclosure(hi: .infinity, lo: -.infinity, radius: .infinity),
        Enclosure(hi: 0), Enclosure(hi: -0.0, lo: -0.0), Enclosure(hi: 0x1p1000, lo: 1, radius: 0x1p900),
        Enclosure(hi: 0x1p-1070, lo: 0, radius: 0x1p-1074),
    ]

    /// Each lane's bits, for comparing results.
    static func bits(_ e: EnclosureLanes, _ k: Int) -> [UInt64] {
        [e.hi[k].bitPattern, e.lo[k].bitPattern, e.radius[k].bitPattern]
    }

    static func bits(_ c: CertifiedLanes, _ k: Int) -> [UInt64] {
        [c.value[k].bitPattern, c.sticky[k].bitPattern, c.decided[k] ? 1 : 0]
    }

    /// Every operation's result in lane `k` as bit patterns, valid masks included.
    static func results(_ a: EnclosureLanes, _ b: EnclosureLanes, _ k: Int) -> [UInt64] {
        let (q, divided) = a / b
        let (r, rooted) = a.reciprocalSquareRoot
        return bits(a + b, k) + bits(a - b, k) + bits(a * b, k) + bits(q, k) + [divided[k] ? 1 : 0]
            + bits(r, k) + [rooted[k] ? 1 : 0] + bits(a.times(exactly: b.hi), k) + bits(a.certified, k)
    }

    @Test func lanesDoNotReachEachOther() {
        var g = TestGenerator(state: 31)
        for trial in 0..<400 {
            var x = Self.operand(&g), y = Self.operand(&g)
            if trial % 3 == 0 { x = Enclosure(hi: x.hi.magnitude, lo: x.lo, radius: x.radius) }
            if trial % 5 == 0 { y = -x + Enclosure(hi: x.hi * 0x1p-70) }
            let alone = Self.results(EnclosureLanes(repeating: x), EnclosureLanes(repeating: y), 0)
            for k in 0..<4 {
                var a = EnclosureLanes(repeating: Self.junk[trial % Self.junk.count])
                var b = EnclosureLanes(repeating: Self.junk[(trial + 1) % Self.junk.count])
                (a[lane: k], b[lane: k]) = (x, y)
                #expect(Self.results(a, b, k) == alone, "trial \(trial) lane \(k)")
            }
        }
    }

    /// The lanes' product with a factor that is exactly a double, on either side, is
    /// ``EnclosureLanes/times(exactly:)``'s, bit for bit, which the solve relies on
    /// where it multiplies by counts, weights and running statistics.
    @Test func exactFactorsGiveTheShortcutsBits() {
        var g = TestGenerator(state: 32)
        let specials: [Double] = [0, -0.0, 1, -1, 3, 0x1p-1000, 0x1.fffffffffffffp40, 1e-300]
        for trial in 0..<500 {
            var a = EnclosureLanes.zero, d = LaneValues.zero
            for k in 0..<4 {
                a[lane: k] = Self.operand(&g)
                d[k] = trial % 4 == k ? specials[(trial / 4) % specials.count] : Self.operand(&g).hi
            }
            let shortcut = a.times(exactly: d)
            for k in 0..<4 {
                #expect(Self.bits(a * EnclosureLanes(d), k) == Self.bits(shortcut, k), "trial \(trial) lane \(k)")
                #expect(Self.bits(EnclosureLanes(d) * a, k) == Self.bits(shortcut, k), "trial \(trial) lane \(k)")
            }
        }
    }

    @Test func halfGapsAreTheNeighboursDistances() {
        var g = TestGenerator(state: 33)
        for trial in 0..<1000 {
            var hi = LaneValues.zero
            for k in 0..<4 {
                let e = Int(g.next() % 1800) - 900
                let v = trial % 2 == 0 ? Double(sign: .plus, exponent: e, significand: 1) : g.uniform() * 0x1p-20 + 1
                hi[k] =
                    (g.next() % 2 == 0 ? v : -v)
                    * (trial % 2 == 0 ? 1 : Double(sign: .plus, exponent: e, significand: 1))
            }
            let (up, down) = EnclosureLanes(hi).halfGaps
            for k in 0..<4 {
                #expect(up[k] == (hi[k].nextUp - hi[k]) * 0.5, "\(hi[k])")
                #expect(down[k] == (hi[k] - hi[k].nextDown) * 0.5, "\(hi[k])")
            }
        }
    }

    /// Where `certified` decides a lane, every real within its radius rounds to `hi`
    /// (to nearest, exactly as rationals compare), and the sticky is that of every such
    /// real's difference from `hi`, or 0 only for an exact `hi` or one with more than 25
    /// significant bits, which no narrower format's midpoint has. The plain cases must
    /// be decided. Enclosures straddling their `hi`, on short significands among them,
    /// are made on purpose.
    @Test func certifiedValuesHoldUpAgainstRationals() {
        var g = TestGenerator(state: 34)
        var tiesDecided = 0, tiesDeclined = 0
        for _ in 0..<3000 {
            var e = EnclosureLanes.zero
            for k in 0..<4 {
                let short = g.uniform() < 0.5
                let scale = Double(sign: .plus, exponent: Int(g.next() % 200) - 100, significand: 1)
                let hi = (short ? 1 + 0x1p-24 * Double(g.next() % 2 * 2 + 1) : 1 + g.uniform()) * scale
                let half = hi.ulp * 0.5
                let lo = [0, half * (g.uniform() - 0.5) * 2, half * 0x1p-40 * (g.uniform() - 0.5), half][
                    Int(g.next() % 4)]
                let radius = [0, lo.magnitude * g.uniform() * 2, half * 0x1p-30 * g.uniform(), half][Int(g.next() % 4)]
                e[lane: k] = Enclosure(hi: g.next() % 2 == 0 ? hi : -hi, lo: lo, radius: radius)
            }
            let c = e.certified
            for k in 0..<4 {
                let (hi, lo, r) = (e.hi[k], e.lo[k], e.radius[k])
                guard Self.isNearestPair(hi, lo) else { continue }
                let low = ExactRational(exactly: lo) - ExactRational(exactly: r)
                let high = ExactRational(exactly: lo) + ExactRational(exactly: r)
                let up = ExactRational(exactly: (hi.nextUp - hi) * 0.5)
                let down = ExactRational(exactly: (hi - hi.nextDown) * 0.5)
                let inside = ExactRational.compare(high, up) < 0 && ExactRational.compare(low, .zero - down) > 0
                let above = low.signum > 0, below = high.signum < 0
                if c.decided[k] {
                    #expect(c.value[k] == hi)
                    #expect(r == 0 || inside, "decided outside the cell: \(e[lane: k])")
                    let sticky = c.sticky[k]
                    if r == 0 {
                        #expect(sticky == (lo > 0 ? 1 : lo < 0 ? -1 : 0))
                    } else {
                        #expect(sticky != 1 || above)
                        #expect(sticky != -1 || below)
                        #expect(sticky != 0 || (!above && !below && hi.significantBitCount > 25))
                        #expect(sticky == 0 || sticky == (above ? 1 : -1))
                    }
                    if r != 0 && !above && !below { tiesDecided += 1 }
                } else {
                    // Declined: then the enclosure was inexact and either reached a
                    // cell boundary (with the 2^-50 margin) or left the side open on a
                    // short significand.
                    #expect(r != 0)
                    let margin = ExactRational(exactly: 1 - 0x1p-50)
                    let comfortably =
                        ExactRational.compare(high, up * margin) < 0
                        && ExactRational.compare(low, .zero - down * margin) > 0
                    #expect(!comfortably || (!above && !below && hi.significantBitCount <= 25))
                    if comfortably { tiesDeclined += 1 }
                }
            }
        }
        // Both outcomes of the lane-by-lane check occurred.
        #expect(tiesDecided > 0 && tiesDeclined > 0)
    }

    /// Whether `hi` is `hi + lo` rounded to nearest (the enclosures' invariant), and
    /// both finite and normal, as the solve's enclosures are.
    static func isNearestPair(_ hi: Double, _ lo: Double) -> Bool {
        hi.isNormal && (hi + lo) == hi && lo.magnitude <= hi.ulp * 0.5
    }

    /// Lanes outside the tame range, beyond 2^1000 or holding zero with a radius are
    /// never decided; exact ones are, even at zero.
    @Test func untameAndOpenLanesAreNeverDecided() {
        let e = EnclosureLanes(
            hi: LaneValues(0x1p460, 0, 0x1p-460, 0), lo: LaneValues(0, 0, 0, 0),
            radius: LaneValues(0, 0x1p-60, 0, 0))
        let c = e.certified
        #expect(c.decided == LaneMask([false, false, false, true]))
        #expect(c.value[3] == 0 && c.value[3].sign == .plus)
        let negativeZero = EnclosureLanes(hi: LaneValues(repeating: -0.0)).certified
        #expect(negativeZero.decided[0] && negativeZero.value[0].sign == .plus)
    }
}
