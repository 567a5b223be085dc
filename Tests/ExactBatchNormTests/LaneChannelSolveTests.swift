import Testing

@testable import ExactBatchNorm

/// The certified solve takes channels four at a time, one per SIMD lane
/// (``FastChannelSolve``), each lane masked off where the one-channel analysis gives up.
/// These tests fail if a lane is wrong: a lane that leaks into its neighbours, a mask
/// that keeps a channel the enclosures do not decide, a padding lane taken for a
/// channel, a short last group, or a rounding rule translated with a wrong direction.
/// Groups mix channels the enclosures decide with channels they cannot (constant,
/// `|mean|/std` beyond 2^40, NaN and infinities in `x` or `dout`, a non-finite `gamma`,
/// `var + eps < 0`, magnitudes outside the tame range, values on rounding boundaries);
/// every output bit and every per-channel result, rounded into all four types, is
/// compared with the exact path's.
@Suite struct LaneChannelSolveTests {
    /// How one channel's values are made.
    enum Flavour: CaseIterable {
        case normal, constant, farOffset, nanX, infiniteX, nanDout, midpoint, huge, tiny, onesDout, grid
    }

    struct Problem {
        var x: [Double], dout: [Double]
        var parameters: BatchNormParameters
    }

    /// One channel: how its values are made, and the seed of its own generator, so that
    /// its values are the same wherever it stands.
    struct Channel {
        var flavour: Flavour
        var seed: UInt64
    }

    /// `n` rows of `channels.count` channels of `l` values of type `X`.
    static func problem<X: BatchNormFloat>(
        _: X.Type, n: Int, l: Int, channels: [Channel], eps: Double = 1e-5
    ) -> Problem {
        let c = channels.count
        var x = [Double](repeating: 0, count: n * c * l), dout = x
        for (ch, channel) in channels.enumerated() {
            let flavour = channel.flavour
            var g = TestGenerator(state: channel.seed)
            for row in 0..<n {
                for k in 0..<l {
                    let (xv, dv) = value(flavour, g.uniform() - 0.5, g.uniform() - 0.5, index: row * l + k, X.self)
                    let i = (row * c + ch) * l + k
                    (x[i], dout[i]) = (X(roundingDouble: xv).exactDouble, X(roundingDouble: dv).exactDouble)
                }
            }
        }
        // Per-channel parameters by position in a flavour-blind cycle, some hostile: a
        // NaN weight, a running variance below -eps (evaluation: var + eps < 0), a
        // running mean outside the tame range.
        let parameters = BatchNormParameters(
            gamma: (0..<c).map { [1.0, -0.75, 0.5, 3, .nan, 1e-3, 2][$0 % 7] },
            beta: (0..<c).map { [0.0, 0.25, -2, 1e3][$0 % 4] },
            runningMean: (0..<c).map { [0.0, 0.5, -1000, 0x1p500, 3][$0 % 5] },
            runningVar: (0..<c).map { [1.0, 0.25, -1, 4, 1e-6, 0][$0 % 6] }, eps: eps)
        return Problem(x: x, dout: dout, parameters: parameters)
    }

    static func value<X: BatchNormFloat>(
        _ flavour: Flavour, _ u: Double, _ w: Double, index: Int, _: X.Type
    ) -> (Double, Double) {
        let largest = X.greatestFiniteMagnitude.exactDouble, smallest = X.leastNormalMagnitude.exactDouble
        switch flavour {
        case .normal: return (u * 3, w)
        case .constant: return (0.375, w)
        // |mean|/std about 2^44: beyond what double-double enclosures follow.
        case .farOffset: return (X.binaryFormat.precision > 50 ? 0x1p45 + (u * 4).rounded() : 1 + u, w)
        case .nanX: return (index == 1 ? .nan : u, w)
        case .infiniteX: return (index == 0 ? -.infinity : u, w)
        case .nanDout: return (u, index == 2 ? .nan : w)
        // Two values whose mean, 1 + 2^-8, is a bfloat16 midpoint (and exact elsewhere).
        case .midpoint: return (index % 2 == 0 ? 1 : 1 + 0x1p-7, index % 2 == 0 ? 0.5 : -0.5)
        case .huge: return (u * largest / 4, w)
        case .tiny: return (u * smallest * 8, w * smallest * 64)
        case .onesDout: return (u, 1)
        case .grid: return ((u * 16).rounded() / 4, (w * 8).rounded() / 2)
        }
    }

    struct Outcome: Equatable {
        var bits: [[UInt64]?]
        var certified: [Bool]
    }

    /// `out`, `dx` and every per-channel result in float16, bfloat16, float32 and
    /// float64, as encodings, and which channels the certified solve served.
    static func outcome<X: BatchNormFloat>(
        _ p: Problem, _: X.Type, n: Int, l: Int, mode: BatchNormMode, withDout: Bool, certified: Bool
    ) throws -> Outcome {
        let x = p.x.map { X(roundingDouble: $0) }, dout = p.dout.map { X(roundingDouble: $0) }
        let c = p.parameters.gamma!.count
        let shape = try BatchNormShape(dimensions: l == 1 ? [n, c] : [n, c, l], layout: .channelsFirst)
        let (out, dx, channels) = try ExactBatchNorm.compute(
            x: x, dout: withDout ? dout : nil, shape: shape, parameters: p.parameters, mode: mode,
            output: X.self, paths: EnginePaths(certifiedSolve: certified))
        var bits: [[UInt64]?] = [out.map(\.encoding), dx?.map(\.encoding)]
        for q in ChannelQuantity.allCases {
            bits.append(channels.perChannel(q, as: Float16.self)?.map(\.encoding))
            bits.append(channels.perChannel(q, as: BFloat16.self)?.map(\.encoding))
            bits.append(channels.perChannel(q, as: Float.self)?.map(\.encoding))
            bits.append(channels.perChannel(q, as: Double.self)?.map(\.encoding))
        }
        return Outcome(bits: bits, certified: channels.channels.map(\.isCertified))
    }

    /// `count` channels: consecutive groups of four cycle through the flavours at
    /// different strides, so that decided and undecided channels share groups in many
    /// combinations.
    static func channels(count: Int, seed: Int) -> [Channel] {
        let all = Flavour.allCases
        return (0..<count).map {
            Channel(flavour: all[($0 * (seed % 4 + 2) + seed) % all.count], seed: UInt64(seed * 1000 + $0))
        }
    }

    /// Certified against exact on one configuration; returns the certified flags.
    @discardableResult
    static func compare<X: BatchNormFloat>(
        _ type: X.Type, channels: Int, n: Int = 2, l: Int = 3, mode: BatchNormMode, withDout: Bool, seed: Int,
        eps: Double = 1e-5
    ) throws -> [Bool] {
        let p = problem(X.self, n: n, l: l, channels: Self.channels(count: channels, seed: seed), eps: eps)
        let lanes = try outcome(p, X.self, n: n, l: l, mode: mode, withDout: withDout, certified: true)
        let exact = try outcome(p, X.self, n: n, l: l, mode: mode, withDout: withDout, certified: false)
        let what = "\(X.self) \(channels) channels \(mode) dout \(withDout) seed \(seed) eps \(eps)"
        for (k, (a, b)) in zip(lanes.bits, exact.bits).enumerated() { #expect(a == b, "array \(k), \(what)") }
        #expect(!exact.certified.contains(true))
        return lanes.certified
    }

    /// Whether some group of four holds both a certified and an uncertified channel.
    static func mixes(_ certified: [Bool]) -> Bool {
        stride(from: 0, to: certified.count, by: 4).contains { start in
            let group = certified[start..<min(certified.count, start + 4)]
            return group.contains(true) && group.contains(false)
        }
    }

    @Test(arguments: [1, 3, 5, 8, 13])
    func mixedGroupsAgreeWithTheExactPath(channels: Int) throws {
        var mixed = false, served = 0
        for mode in [BatchNormMode.training, .evaluation] {
            for withDout in [true, false] {
                for seed in 0..<2 {
                    var flags = try Self.compare(
                        Float.self, channels: channels, mode: mode, withDout: withDout, seed: seed)
                    flags += try Self.compare(
                        Double.self, channels: channels, mode: mode, withDout: withDout, seed: seed)
                    flags += try Self.compare(
                        Float16.self, channels: channels, mode: mode, withDout: withDout, seed: seed + 2)
                    flags += try Self.compare(
                        BFloat16.self, channels: channels, mode: mode, withDout: withDout, seed: seed + 2)
                    mixed = mixed || Self.mixes(flags)
                    served += flags.filter { $0 }.count
                }
            }
        }
        // Not vacuous: lanes were decided, and (beyond one channel) shared groups with
        // lanes that were not.
        #expect(served > 0)
        if channels > 1 { #expect(mixed, "no group mixed decided and undecided channels") }
    }

    /// BatchNorm1d's (N, C) input (one value per row), zero eps and one value per
    /// channel under the biased convention (var = 0: decided only through eps).
    @Test func oneValuePerRowAndZeroEpsAgree() throws {
        for seed in 0..<3 {
            try Self.compare(Float.self, channels: 7, n: 3, l: 1, mode: .training, withDout: true, seed: seed)
            try Self.compare(Float.self, channels: 6, n: 4, l: 1, mode: .training, withDout: true, seed: seed, eps: 0)
            try Self.compare(Double.self, channels: 5, n: 2, l: 1, mode: .evaluation, withDout: true, seed: seed)
        }
    }

    /// A channel's results and whether the certified solve served it do not depend on
    /// the channels that share its group: rotating the channel order changes every
    /// group's make-up and must rotate the outcome, nothing more.
    @Test func channelsAreDecidedAloneWhateverTheirGroup() throws {
        let channels = Self.channels(count: 11, seed: 3)
        for shift in 1...3 {
            let rotated = Array(channels[shift...] + channels[..<shift])
            for mode in [BatchNormMode.training, .evaluation] {
                // The same parameters for every channel, so that each channel's inputs
                // do not depend on its position.
                var p = Self.problem(Float.self, n: 2, l: 3, channels: channels)
                var q = Self.problem(Float.self, n: 2, l: 3, channels: rotated)
                let plain = BatchNormParameters(eps: 1e-5)
                (p.parameters, q.parameters) = (Self.spread(plain, 11), Self.spread(plain, 11))
                let a = try Self.outcome(p, Float.self, n: 2, l: 3, mode: mode, withDout: true, certified: true)
                let b = try Self.outcome(q, Float.self, n: 2, l: 3, mode: mode, withDout: true, certified: true)
                let back = Array(b.certified[(11 - shift)...] + b.certified[..<(11 - shift)])
                #expect(back == a.certified, "shift \(shift) \(mode)")
                #expect(a.certified.contains(true) && a.certified.contains(false))
                // Per-channel results (arrays 2 on) rotate with their channels.
                for (k, (x, y)) in zip(a.bits, b.bits).enumerated().dropFirst(2) {
                    guard let x, let y else { continue }
                    #expect(Array(y[(11 - shift)...] + y[..<(11 - shift)]) == x, "array \(k) shift \(shift)")
                }
            }
        }
    }

    /// `p` with default per-channel parameters for `c` channels.
    static func spread(_ p: BatchNormParameters, _ c: Int) -> BatchNormParameters {
        var q = p
        (q.gamma, q.beta) = (Array(repeating: 1.5, count: c), Array(repeating: -0.25, count: c))
        (q.runningMean, q.runningVar) = (Array(repeating: 0.5, count: c), Array(repeating: 2, count: c))
        return q
    }
}
