import Testing
@testable import ExactBatchNorm

/// The fast path keeps a result only when its error bound proves the rounding; these
/// tests check that claim against the exact path, element by element, on data built to
/// sit near rounding boundaries: large offsets, values on coarse grids (many exact and
/// tie results), dout affine in x (exact zeros by cancellation), float16 and float64
/// outputs. A bound that is too tight would show up here as a differing bit.
@Suite struct FastPathCertificationTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func uniform() -> Double { Double(next()) * 0x1p-53 }
    }

    enum Flavour: String, CaseIterable, CustomTestStringConvertible {
        case offset, grid, affineDout, tiny
        var testDescription: String { rawValue }
    }

    static func problem(_ flavour: Flavour, seed: UInt64) -> (x: [Double], dout: [Double], gamma: [Double], beta: [Double]) {
        var g = Generator(state: seed)
        let n = 6, c = 3, l = 40
        var x = [Double](), dout = [Double]()
        for _ in 0 ..< n * c * l {
            let u = g.uniform() - 0.5
            switch flavour {
            case .offset: x.append(1000 + u / 64)
            case .grid: x.append((u * 16).rounded() / 4)               // quarter steps: exact stats
            case .affineDout: x.append((u * 24).rounded() / 8)       // eighths: 3x - 1/2 stays exact
            case .tiny: x.append(u * 0x1p-60)
            }
            dout.append(flavour == .grid ? ((g.uniform() - 0.5) * 8).rounded() / 2 : g.uniform() - 0.5)
        }
        // Exactly affine, with eps = 0: dx = gamma*invstd*3*(x - mean)*eps/(var + eps) is exactly 0.
        if flavour == .affineDout { dout = x.map { 3 * $0 - 0.5 } }
        let gamma = [1.0, -0.75, 0.5]
        let beta = flavour == .grid ? [0.25, -0.5, 0] : [0.1, 0, -2]
        return (x, dout, gamma, beta)
    }

    func compare<X: BatchNormFloat, Output: BatchNormFloat>(_: X.Type, _: Output.Type, _ flavour: Flavour,
                                                           seed: UInt64) throws -> Int {
        let p = Self.problem(flavour, seed: seed)
        let x = p.x.map { X($0) }, dout = p.dout.map { X($0) }
        let shape = try BatchNormShape(dimensions: [6, 3, 40], layout: .channelsFirst)
        let params = BatchNormParameters(gamma: p.gamma, beta: p.beta,
                                         eps: flavour == .grid || flavour == .affineDout ? 0 : 1e-5)
        func run(fast: Bool) throws -> ([Output], [Output]) {
            var out = [Output](repeating: 0, count: x.count), dx = out
            try x.withUnsafeBytes { xs in
                try dout.withUnsafeBytes { ds in
                    try out.withUnsafeMutableBufferPointer { o in
                        try dx.withUnsafeMutableBufferPointer { d in
                            _ = try ExactBatchNorm.computeInto(xBytes: xs, doutBytes: ds, elementType: X.self,
                                                               shape: shape, parameters: params, mode: .training,
                                                               out: o, dx: d, threads: 2, fastPath: fast)
                        }
                    }
                }
            }
            return (out, dx)
        }
        let (fastOut, fastDx) = try run(fast: true)
        let (exactOut, exactDx) = try run(fast: false)
        var differing = 0
        for i in x.indices {
            if fastOut[i].encoding != exactOut[i].encoding { differing += 1 }
            if fastDx[i].encoding != exactDx[i].encoding { differing += 1 }
        }
        if flavour == .affineDout { #expect(fastDx.allSatisfy { $0 == 0 && $0.sign == .plus }) }
        return differing
    }

    @Test(arguments: Flavour.allCases)
    func fastResultsEqualExactResults(_ flavour: Flavour) throws {
        for seed in UInt64(1) ... 3 {
            #expect(try compare(Float.self, Float.self, flavour, seed: seed) == 0, "float32 \(flavour) \(seed)")
            #expect(try compare(Float16.self, Float16.self, flavour, seed: seed) == 0, "float16 \(flavour) \(seed)")
            #expect(try compare(Double.self, Double.self, flavour, seed: seed) == 0, "float64 \(flavour) \(seed)")
            #expect(try compare(Float.self, Double.self, flavour, seed: seed) == 0, "float32->64 \(flavour) \(seed)")
        }
    }
}
