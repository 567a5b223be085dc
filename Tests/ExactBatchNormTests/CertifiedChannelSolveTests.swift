import Testing

@testable import ExactBatchNorm

/// The certified channel solve (``FastChannelSolve``, four channels at once) must give the big-rational path's
/// bits for every output, per channel and per element, or decline the channel. These
/// tests run both on many channels at once, each built to be hostile in its own way,
/// and compare every bit, with the per-channel results rounded into float16, float32
/// and float64 alike; they also require that the certified path served most channels,
/// so that the comparison is not vacuous.
@Suite struct CertifiedChannelSolveTests {
    /// How one channel's values are made.
    enum Flavour: CaseIterable {
        case normal, offset, farOffset, constant, onesDout, tiny, huge, grid, affineDout, twoValues
    }

    struct Problem {
        var x: [Double], dout: [Double]
        var gamma: [Double], beta: [Double], runningMean: [Double], runningVar: [Double]
    }

    /// `n` rows of `c` channels of `l` values; channel `k` has flavour `k % 10`.
    static func problem(n: Int, c: Int, l: Int, seed: UInt64) -> Problem {
        var g = TestGenerator(state: seed)
        var x = [Double](repeating: 0, count: n * c * l), dout = x
        let flavours = Flavour.allCases
        for row in 0..<n {
            for ch in 0..<c {
                for k in 0..<l {
                    let i = (row * c + ch) * l + k
                    let u = g.uniform() - 0.5, w = g.uniform() - 0.5
                    let (xv, dv) = Self.value(flavours[ch % flavours.count], u, w, index: row * l + k)
                    (x[i], dout[i]) = (xv, dv)
                }
            }
        }
        let gamma = (0..<c).map { k in [1.0, -0.75, 0.5, 3, 1e-3][k % 5] }
        let beta = (0..<c).map { k in [0.0, 0.25, -2, 1e3][k % 4] }
        let rm = (0..<c).map { k in [0.0, 0.5, -1000][k % 3] }
        let rv = (0..<c).map { k in [1.0, 0.25, 1e-6, 4][k % 4] }
        return Problem(x: x, dout: dout, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv)
    }

    static func value(_ flavour: Flavour, _ u: Double, _ w: Double, index: Int) -> (Double, Double) {
        switch flavour {
        case .normal: return (u * 3, w)
        case .offset: return (1000 + u / 64, w)
        case .farOffset: return (0x1p20 + ((u * 64).rounded() / 8), w)  // |mean|/std ~ 2^18
        case .constant: return (0.375, w)
        case .onesDout: return (u, 1)
        case .tiny: return (u * 0x1p-60, w * 0x1p-40)
        case .huge: return (u * 0x1p40, w * 0x1p30)
        case .grid: return ((u * 16).rounded() / 4, (w * 8).rounded() / 2)
        case .affineDout:
            let v = (u * 24).rounded() / 8
            return (v, 3 * v - 0.5)
        case .twoValues: return (index % 2 == 0 ? 1.5 : -0.5, index % 2 == 0 ? 1 : -1)
        }
    }

    struct Outcome {
        var out: [UInt64], dx: [UInt64], perChannel: [[UInt64]]
        var certifiedChannels: Int
    }

    static func run<X: BatchNormFloat, Output: BatchNormFloat>(
        _ p: Problem, _: X.Type, _: Output.Type, dims: [Int], parameters: BatchNormParameters,
        mode: BatchNormMode, certified: Bool
    ) throws -> Outcome {
        let x = p.x.map { X($0) }, dout = p.dout.map { X($0) }
        let shape = try BatchNormShape(dimensions: dims, layout: .channelsFirst)
        let (out, dx, channels) = try ExactBatchNorm.compute(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: mode, output: Output.self,
            paths: EnginePaths(certifiedSolve: certified))
        let certifiedCount = channels.channels.filter(\.isCertified).count
        return Outcome(
            out: out.map(\.encoding), dx: dx!.map(\.encoding), perChannel: channels.encodings,
            certifiedChannels: certifiedCount)
    }

    /// Both paths on one problem; returns how many channels the certified path served.
    @discardableResult
    static func compare<X: BatchNormFloat, Output: BatchNormFloat>(
        _ x: X.Type, _ output: Output.Type, n: Int, c: Int, l: Int, seed: UInt64, eps: Double = 1e-5,
        mode: BatchNormMode = .training, convention: MomentumConvention = .torch,
        variance: RunningVarianceConvention = .unbiased
    ) throws -> Int {
        let p = problem(n: n, c: c, l: l, seed: seed)
        let params = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean,
            runningVar: p.runningVar, eps: eps,
            momentum: convention == .torch ? 0.1 : 0.99,
            momentumConvention: convention, runningVariance: variance)
        let dims = l == 1 ? [n, c] : [n, c, l]
        let fast = try run(p, X.self, Output.self, dims: dims, parameters: params, mode: mode, certified: true)
        let exact = try run(p, X.self, Output.self, dims: dims, parameters: params, mode: mode, certified: false)
        #expect(fast.out == exact.out, "out \(X.self)->\(Output.self) \(mode) eps \(eps) seed \(seed)")
        #expect(fast.dx == exact.dx, "dx \(X.self)->\(Output.self) \(mode) eps \(eps) seed \(seed)")
        for (k, q) in ChannelQuantity.allCases.enumerated() {
            for (j, name) in ["float16", "float32", "float64"].enumerated() {
                #expect(
                    fast.perChannel[3 * k + j] == exact.perChannel[3 * k + j],
                    "\(q) as \(name), \(X.self)->\(Output.self) \(mode) eps \(eps) seed \(seed)")
            }
        }
        #expect(exact.certifiedChannels == 0)
        return fast.certifiedChannels
    }

    @Test func float32ChannelsAgreeBitForBit() throws {
        for seed in UInt64(1)...4 {
            let served = try Self.compare(Float.self, Float.self, n: 4, c: 40, l: 9, seed: seed)
            #expect(served >= 30, "only \(served) of 40 channels certified")
            try Self.compare(Float.self, Float.self, n: 3, c: 30, l: 1, seed: seed)
            try Self.compare(Float.self, Double.self, n: 4, c: 40, l: 9, seed: seed)
        }
    }

    @Test func float16AndFloat64ChannelsAgreeBitForBit() throws {
        for seed in UInt64(5)...7 {
            try Self.compare(Float16.self, Float16.self, n: 4, c: 30, l: 5, seed: seed)
            let served = try Self.compare(Double.self, Double.self, n: 4, c: 40, l: 9, seed: seed)
            #expect(served >= 20, "only \(served) of 40 channels certified")
        }
    }

    @Test func conventionsModesAndZeroEpsAgree() throws {
        for seed in UInt64(8)...9 {
            try Self.compare(Float.self, Float.self, n: 4, c: 20, l: 4, seed: seed, eps: 0)
            try Self.compare(Float.self, Float.self, n: 2, c: 20, l: 3, seed: seed, mode: .evaluation)
            try Self.compare(Double.self, Double.self, n: 2, c: 20, l: 3, seed: seed, mode: .evaluation)
            try Self.compare(
                Float.self, Float.self, n: 2, c: 20, l: 1, seed: seed, convention: .keras,
                variance: .biased)
        }
    }

    /// More channels than one chunk of the first pass: the chunks' sums are discarded,
    /// and an element that needs exact terms has its channel summed again from the data.
    @Test func channelsBeyondOneChunkAgree() throws {
        let c = ExactBatchNorm.channelChunk + 300
        let served = try Self.compare(Float.self, Float.self, n: 2, c: c, l: 1, seed: 21)
        #expect(served > c / 2)
        try Self.compare(Float.self, Float.self, n: 2, c: c, l: 2, seed: 22)
    }

    /// Rounding a certified double into a narrower type: midpoints go the way the sign
    /// of the remainder says, ties (sticky 0) to even, the overflow threshold included.
    @Test func stickyDecidesMidpoints() {
        let mid = 1 + 0x1p-24  // halfway between 1 and float32's next value
        #expect(Float.rounding(mid, sticky: 0) == 1)
        #expect(Float.rounding(mid, sticky: 1) == Float(1).nextUp)
        #expect(Float.rounding(mid, sticky: -1) == 1)
        #expect(Float.rounding(-mid, sticky: -1) == -Float(1).nextUp)
        let threshold = Double(Float.greatestFiniteMagnitude) + Double(Float.greatestFiniteMagnitude.ulp) / 2
        #expect(Float.rounding(threshold, sticky: -1) == .greatestFiniteMagnitude)
        #expect(Float.rounding(threshold, sticky: 1) == .infinity)
        #expect(Float16.rounding(1 + 0x1p-11, sticky: 1) == Float16(1).nextUp)
        #expect(Double.rounding(mid, sticky: 1) == mid)
    }

    /// Whether the exact `value` lies inside `e`.
    static func contains(_ e: Enclosure, _ value: ExactRational) -> Bool {
        let centre = ExactRational(exactly: e.hi) + ExactRational(exactly: e.lo)
        let distance = value - centre
        let magnitude = distance.signum < 0 ? -distance : distance
        return ExactRational.compare(magnitude, ExactRational(exactly: e.radius)) <= 0
    }

    /// The enclosures' arithmetic against exact rationals, on operands that are
    /// themselves inexact enclosures, with heavy cancellation half of the time, four
    /// independent operations at once in the lanes.
    @Test func enclosureArithmeticContainsTheExactResults() throws {
        var g = TestGenerator(state: 11)
        func operand() -> (Enclosure, ExactRational) {
            let hi = (g.uniform() - 0.5) * Double(sign: .plus, exponent: Int(g.next() % 80) - 40, significand: 1)
            let lo = hi * (g.uniform() - 0.5) * 0x1p-53
            // Mostly tight radii; a few wide ones (up to half the value), where the
            // square root's verification must give up.
            let wide = g.uniform() < 0.1
            let radius = g.uniform() < 0.5 ? 0 : hi.magnitude * g.uniform() * (wide ? 0.5 : 0x1p-90)
            let offset = (g.uniform() - 0.5) * 2 * radius  // the true value, inside the enclosure
            let e = Enclosure(hi: hi, lo: 0) + Enclosure(hi: lo)
            let exact = ExactRational(exactly: e.hi) + ExactRational(exactly: e.lo) + ExactRational(exactly: offset)
            return (Enclosure(hi: e.hi, lo: e.lo, radius: radius), exact)
        }
        for _ in 0..<500 {
            var a = EnclosureLanes.zero, b = EnclosureLanes.zero
            var ea: [ExactRational] = [], eb: [ExactRational] = []
            for k in 0..<4 {
                let (x, ex) = operand()
                var (y, ey) = operand()
                if g.uniform() < 0.5 {
                    (y, ey) = (-x + Enclosure(hi: x.hi * 0x1p-60), -ex + ExactRational(exactly: x.hi * 0x1p-60))
                }
                (a[lane: k], b[lane: k]) = (x, y)
                ea.append(ex)
                eb.append(ey)
            }
            let sum = a + b, product = a * b, (quotient, divided) = a / b
            let flip = a.hi .< 0
            let positive = EnclosureLanes(
                hi: a.hi.replacing(with: a.hi.negated, where: flip),
                lo: a.lo.replacing(with: a.lo.negated, where: flip), radius: a.radius)
            let (root, rooted) = positive.reciprocalSquareRoot
            for k in 0..<4 {
                #expect(Self.contains(sum[lane: k], ea[k] + eb[k]))
                #expect(Self.contains(product[lane: k], ea[k] * eb[k]))
                if divided[k] { #expect(Self.contains(quotient[lane: k], ea[k] / eb[k])) }
                guard rooted[k] else { continue }
                // 1/sqrt(v) within radius of y  <=>  (y - r)^2 v <= 1 <= (y + r)^2 v (for y > r).
                let r = root[lane: k], ep = flip[k] ? -ea[k] : ea[k]
                let y = ExactRational(exactly: r.hi) + ExactRational(exactly: r.lo),
                    rad = ExactRational(exactly: r.radius)
                #expect(ExactRational.compare((y - rad) * (y - rad) * ep, .one) <= 0)
                #expect(ExactRational.compare((y + rad) * (y + rad) * ep, .one) >= 0)
            }
        }
    }

    /// The accumulator's enclosure holds its exact sum, exactly (radius 0) when the sum
    /// fits 106 bits, negative sums and spans beyond the in-place digits included.
    @Test func accumulatorEnclosuresHoldTheExactSums() throws {
        var g = TestGenerator(state: 12)
        for trial in 0..<200 {
            var acc = ExactAccumulator()
            let spread = trial % 2 == 0 ? 20 : 300
            for _ in 0..<50 {
                let e = Int(g.next() % UInt64(spread)) - spread / 2
                acc.add(Double(Float((g.uniform() - 0.6) * Double(sign: .plus, exponent: e, significand: 1))))
            }
            let exact = acc.value
            // Sums outside the solve's range (among them those of the infinities a
            // float32 of exponent beyond 127 rounds to) are the solve's to decline.
            guard let e = acc.enclosure, EnclosureLanes(repeating: e).isTame[0] else { continue }
            #expect(Self.contains(e, exact))
            if spread == 20 { #expect(e.radius == 0) }
        }
    }
}
