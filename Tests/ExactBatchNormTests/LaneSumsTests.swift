import Testing

@testable import ExactBatchNorm

/// The certified solve's operands summed in lanes from channels-last data (``LaneSums``):
/// each lane's enclosure must hold the exact sum the accumulators give, its radius must
/// be zero whenever the compensated sum is exact, and the engine's results through the
/// lanes must be the exact path's bits.
@Suite struct LaneSumsTests {
    typealias Problem = CertifiedChannelSolveTests.Problem

    /// `hi + lo` within `radius` of `exact`, checked in rationals.
    static func holds(_ e: Enclosure, _ exact: ExactRational) -> Bool {
        guard e.hi.isFinite, e.lo.isFinite, e.radius.isFinite else { return false }
        let gap = exact - (ExactRational(exactly: e.hi) + ExactRational(exactly: e.lo))
        let distance = gap.signum < 0 ? -gap : gap
        return (ExactRational(exactly: e.radius) - distance).signum >= 0
    }

    /// The lanes' sums of every group of `shape`'s channels against the exact
    /// accumulators; returns the largest radius relative to the sum of magnitudes seen.
    static func checkEnclosures<X: BatchNormFloat>(
        _ p: Problem, _: X.Type, dims: [Int], label: String
    ) throws -> (inexact: Int, sums: Int) {
        let x = p.x.map { X($0) }, dout = p.dout.map { X($0) }
        let shape = try BatchNormShape(dimensions: dims, layout: .channelsLast).forIteration
        #expect(LaneSums.applies(X.self, shape: shape))
        var inexact = 0, count = 0
        x.withUnsafeBytes { xb in
            dout.withUnsafeBytes { db in
                let xe = Elements<X>(xb.baseAddress!), de = Elements<X>(db.baseAddress!)
                let exact = ChannelSummation.sums(
                    x: xe, dout: de, shape: shape, training: true, threads: 1)
                for first in stride(from: 0, to: shape.channels, by: 4) {
                    let group = first..<min(shape.channels, first + 4)
                    let lanes = LaneSums(channels: group, x: xe, dout: de, shape: shape, training: true)
                    for (k, c) in group.enumerated() {
                        // A non-finite value (float16's overflow of the huge channels):
                        // the accumulators tally it apart, the lanes must decline.
                        if !exact[c].xTally.isFinite || !exact[c].doutTally.isFinite {
                            let tame = [lanes.x, lanes.xDout].map { $0.enclosure.isTame[k] }
                            #expect(!tame.contains(true), "non-finite channel \(c) tame, \(label)")
                            continue
                        }
                        let pairs = [
                            (lanes.x, exact[c].x), (lanes.xx, exact[c].xx),
                            (lanes.dout, exact[c].dout), (lanes.xDout, exact[c].xDout),
                        ]
                        for (j, (sum, truth)) in pairs.enumerated() {
                            let e = sum.enclosure[lane: k]
                            #expect(holds(e, truth.value), "sum \(j) of channel \(c), \(label)")
                            #expect(e.hi == e.hi + e.lo, "head not the rounded sum: \(j), \(c), \(label)")
                            if e.radius != 0 { inexact += 1 }
                            count += 1
                        }
                    }
                }
            }
        }
        return (inexact, count)
    }

    /// The hostile channels of ``CertifiedChannelSolveTests`` (|mean| >> std, constant,
    /// dout = ones, tiny and huge magnitudes, grids), in the three types whose products
    /// are exact in double, for one to 4096 values a channel and a short last group.
    @Test func enclosuresHoldTheExactSums() throws {
        for (n, c, seed) in [(1, 11, UInt64(1)), (2, 10, 2), (3, 7, 3), (64, 10, 4), (4096, 5, 5)] {
            let p = CertifiedChannelSolveTests.problem(n: n, c: c, l: 1, seed: seed)
            let f32 = try Self.checkEnclosures(p, Float.self, dims: [n, c], label: "float32 (\(n), \(c))")
            _ = try Self.checkEnclosures(p, Float16.self, dims: [n, c], label: "float16 (\(n), \(c))")
            _ = try Self.checkEnclosures(p, BFloat16.self, dims: [n, c], label: "bfloat16 (\(n), \(c))")
            // Real data loses nothing in the tail: the radius is zero, the sum exact.
            #expect(f32.inexact == 0, "\(f32.inexact) of \(f32.sums) float32 sums inexact at (\(n), \(c))")
        }
        let nhwc = CertifiedChannelSolveTests.problem(n: 3, c: 9, l: 4, seed: 6)
        _ = try Self.checkEnclosures(nhwc, Float.self, dims: [3, 2, 2, 9], label: "float32 NHWC")
    }

    /// Values so far apart that the tail's own additions round: the radius must then be
    /// positive and still cover the exact sum; a few such channels beside normal ones.
    @Test func lostTailBitsWidenTheRadius() throws {
        let spread: [Double] = [0x1p100, 0x1p-100, -0x1p100, 1, 0x1p-120, 3, -0x1p-90, 0x1p99]
        let n = spread.count, c = 5
        var p = CertifiedChannelSolveTests.problem(n: n, c: c, l: 1, seed: 7)
        for row in 0..<n {
            for ch in [0, 3] {
                p.x[row * c + ch] = spread[(row + ch) % n]
                p.dout[row * c + ch] = spread[(row + 2 * ch + 1) % n]
            }
        }
        let checked = try Self.checkEnclosures(p, Float.self, dims: [n, c], label: "spread")
        #expect(checked.inexact > 0, "no radius was needed: the case does not test the bound")
    }

    /// A non-finite value makes its lane's sums untame, and only its lane's, in both
    /// modes: with `dout`, with a `dout` of zeros (evaluation sums only `T` and `P`, and
    /// `inf * 0` is NaN) and without `dout`.
    @Test func nonFiniteValuesDeclineTheirLaneOnly() throws {
        for poison in [Double.nan, .infinity, -.infinity] {
            var p = CertifiedChannelSolveTests.problem(n: 3, c: 4, l: 1, seed: 8)
            p.x[4 + 2] = poison  // row 1, channel 2
            let x = p.x.map { Float($0) }
            let shape = try BatchNormShape(dimensions: [3, 4], layout: .channelsFirst).forIteration
            let params = try BatchNormParameters(
                gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar
            ).resolved(channels: 4)
            for (label, dout) in [("dout", p.dout.map { Float($0) }), ("zero dout", [Float](repeating: 0, count: 12)),
                ("no dout", nil)] as [(String, [Float]?)] {
                for mode in [BatchNormMode.training, .evaluation] {
                    let valid = x.withUnsafeBytes { xb in
                        (dout ?? []).withUnsafeBytes { db in
                            FastChannelSolve.Inputs(
                                lanesOf: 0..<4, x: Elements(xb.baseAddress!),
                                dout: dout == nil ? nil : Elements<Float>(db.baseAddress!),
                                shape: shape, mode: mode, parameters: params
                            ).valid
                        }
                    }
                    #expect(!valid[2], "poison \(poison) \(mode) \(label)")
                    #expect(valid[0] || valid[1] || valid[3], "every lane declined: \(poison) \(mode) \(label)")
                }
            }
        }
    }

    /// Through the engine: BatchNorm1d and NHWC problems whose channels the lanes serve
    /// give the exact path's bits, and the lanes certify most channels, dout = ones ones
    /// included (their `D` is exactly zero only if the sums are exact).
    @Test func engineThroughTheLanesMatchesTheExactPath() throws {
        let cases: [([Int], ChannelLayout, UInt64)] = [
            ([2, 21], .channelsFirst, 9), ([64, 30], .channelsFirst, 10), ([5, 3, 30], .channelsLast, 11),
        ]
        for (dims, layout, seed) in cases {
            let n = dims[0], c = layout == .channelsFirst ? dims[1] : dims.last!
            let l = dims.count == 2 ? 1 : (layout == .channelsFirst ? dims[2] : dims[1])
            let p = CertifiedChannelSolveTests.problem(n: n, c: c, l: l, seed: seed)
            let params = BatchNormParameters(
                gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar)
            for mode in [BatchNormMode.training, .evaluation] {
                func run(_ paths: EnginePaths, dout: [Float]?, x: [Float]) throws -> (bits: [[UInt64]], certified: [Bool]) {
                    let shape = try BatchNormShape(dimensions: dims, layout: layout)
                    let (out, dx, channels) = try ExactBatchNorm.compute(
                        x: x, dout: dout, shape: shape,
                        parameters: params, mode: mode, output: Float.self, paths: paths)
                    return ([out.map(\.encoding), (dx ?? []).map(\.encoding)] + channels.encodings,
                            channels.channels.map(\.isCertified))
                }
                func run(_ paths: EnginePaths) throws -> (bits: [[UInt64]], certified: [Bool]) {
                    try run(paths, dout: p.dout.map { Float($0) }, x: p.x.map { Float($0) })
                }
                // Without dout, and with one value of channel 1 infinite, which each mode's
                // lanes must still see: that channel leaves them for the exact path.
                var poisoned = p.x.map { Float($0) }
                poisoned[layout == .channelsFirst ? c + 1 : l * c + 1] = .infinity
                for (x, label) in [(p.x.map { Float($0) }, "clean"), (poisoned, "poisoned")] {
                    let lanes = try run(.all, dout: nil, x: x)
                    #expect(lanes.bits == (try run(EnginePaths(certifiedSolve: false), dout: nil, x: x)).bits,
                        "\(dims) \(mode) without dout, \(label)")
                    #expect(lanes.certified[1] == (label == "clean"), "\(dims) \(mode) without dout, \(label)")
                }
                let lanes = try run(.all), exact = try run(EnginePaths(certifiedSolve: false))
                #expect(lanes.bits == exact.bits, "\(dims) \(mode)")
                let served = lanes.certified.filter { $0 }.count
                #expect(served * 10 >= c * 7, "only \(served) of \(c) channels certified, \(dims) \(mode)")
                // The flavours follow channels where the layout keeps them (not NHWC).
                let onesDout = layout == .channelsLast ? [] : (0..<c).filter {
                    CertifiedChannelSolveTests.Flavour.allCases[$0 % CertifiedChannelSolveTests.Flavour.allCases.count]
                        == .onesDout
                }
                #expect(onesDout.allSatisfy { lanes.certified[$0] }, "dout = ones not certified, \(dims) \(mode)")
            }
        }
    }
}
