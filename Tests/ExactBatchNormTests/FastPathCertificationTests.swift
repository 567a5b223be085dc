import Testing

@testable import ExactBatchNorm

/// The fast path keeps a result only when its error bound proves the rounding; these
/// tests check that claim against the exact path, element by element, on data built to
/// sit near rounding boundaries: large offsets, values on coarse grids (many exact and
/// tie results), dout affine in x (exact zeros by cancellation), float16 and float64
/// outputs. A bound that is too tight would show up here as a differing bit.
@Suite struct FastPathCertificationTests {
    enum Flavour: String, CaseIterable, CustomTestStringConvertible {
        case offset, grid, affineDout, tiny
        var testDescription: String { rawValue }
    }

    static func problem(_ flavour: Flavour, seed: UInt64) -> (
        x: [Double], dout: [Double], gamma: [Double], beta: [Double]
    ) {
        var g = TestGenerator(state: seed)
        let n = 6, c = 3, l = 40
        var x = [Double](), dout = [Double]()
        for _ in 0..<n * c * l {
            let u = g.uniform() - 0.5
            switch flavour {
            case .offset: x.append(1000 + u / 64)
            case .grid: x.append((u * 16).rounded() / 4)  // quarter steps: exact stats
            case .affineDout: x.append((u * 24).rounded() / 8)  // eighths: 3x - 1/2 stays exact
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

    func compare<X: BatchNormFloat, Output: BatchNormFloat>(
        _: X.Type, _: Output.Type, _ flavour: Flavour,
        seed: UInt64, mode: BatchNormMode = .training,
        runningMean: [Double]? = nil
    ) throws -> Int {
        let p = Self.problem(flavour, seed: seed)
        let x = p.x.map { X($0) }, dout = p.dout.map { X($0) }
        let shape = try BatchNormShape(dimensions: [6, 3, 40], layout: .channelsFirst)
        let params = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: runningMean,
            runningVar: runningMean.map { _ in [0.25, 1e-30, 4] },
            eps: flavour == .grid || flavour == .affineDout ? 0 : 1e-5)
        func run(fast: Bool) throws -> ([Output], [Output]) {
            var out = [Output](repeating: 0, count: x.count), dx = out
            try x.withUnsafeBytes { xs in
                try dout.withUnsafeBytes { ds in
                    try out.withUnsafeMutableBufferPointer { o in
                        try dx.withUnsafeMutableBufferPointer { d in
                            _ = try ExactBatchNorm.compute(
                                BatchNormInput(
                                    x: xs, dout: ds, elementType: X.elementType, shape: shape,
                                    parameters: params, mode: mode),
                                out: o, dx: d, threads: 2, paths: EnginePaths(fastElements: fast))
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
        if flavour == .affineDout && mode == .training { #expect(fastDx.allSatisfy { $0 == 0 && $0.sign == .plus }) }
        return differing
    }

    @Test(arguments: Flavour.allCases)
    func fastResultsEqualExactResults(_ flavour: Flavour) throws {
        for seed in UInt64(1)...3 {
            #expect(try compare(Float.self, Float.self, flavour, seed: seed) == 0, "float32 \(flavour) \(seed)")
            #expect(try compare(Float16.self, Float16.self, flavour, seed: seed) == 0, "float16 \(flavour) \(seed)")
            #expect(try compare(Double.self, Double.self, flavour, seed: seed) == 0, "float64 \(flavour) \(seed)")
            #expect(try compare(Float.self, Double.self, flavour, seed: seed) == 0, "float32->64 \(flavour) \(seed)")
        }
    }

    /// bfloat16 data (8-bit significands on float32's exponent range) with bfloat16
    /// outputs, and bfloat16 outputs from float32 data: the per-channel bound's grid
    /// argument (multiples of 2^-149) covers both, and the rounding is bfloat16's own.
    @Test(arguments: Flavour.allCases)
    func bfloat16FastResultsEqualExactResults(_ flavour: Flavour) throws {
        for seed in UInt64(1)...3 {
            #expect(try compare(BFloat16.self, BFloat16.self, flavour, seed: seed) == 0, "bfloat16 \(flavour) \(seed)")
            #expect(
                try compare(Float.self, BFloat16.self, flavour, seed: seed) == 0, "float32->bf16 \(flavour) \(seed)")
            #expect(
                try compare(BFloat16.self, Float.self, flavour, seed: seed) == 0, "bf16->float32 \(flavour) \(seed)")
            #expect(
                try compare(BFloat16.self, Double.self, flavour, seed: seed) == 0, "bf16->float64 \(flavour) \(seed)")
        }
        for runningMean in [[1e-300, -3e-200, 0x1.8p-140], [0.1, 1000, -0x1p-70]] {
            #expect(
                try compare(
                    BFloat16.self, BFloat16.self, flavour, seed: 4, mode: .evaluation,
                    runningMean: runningMean) == 0, "bfloat16 eval \(flavour) \(runningMean)")
        }
    }

    /// Evaluation mode shifts by the running mean, which need not lie on float32's grid
    /// of multiples of 2^-149 (the per-channel bound then adds an absolute floor). Tiny
    /// and off-grid running means, against tiny and ordinary data.
    @Test(arguments: Flavour.allCases)
    func evaluationWithOffGridRunningMeans(_ flavour: Flavour) throws {
        for runningMean in [[1e-300, -3e-200, 0x1.8p-140], [0.1, 1000, -0x1p-70]] {
            #expect(
                try compare(
                    Float.self, Float.self, flavour, seed: 4, mode: .evaluation,
                    runningMean: runningMean) == 0, "float32 \(flavour) \(runningMean)")
            #expect(
                try compare(
                    Float16.self, Float16.self, flavour, seed: 4, mode: .evaluation,
                    runningMean: runningMean) == 0, "float16 \(flavour) \(runningMean)")
        }
    }

    /// How often the exact path runs is speed, not correctness, but the per-channel
    /// bound is meant to leave ordinary data and exact zeros entirely on the fast path.
    /// (A portable x86-64 build uses the per-element kernel, which sends exact zeros to
    /// the exact path; this is about the per-channel one.)
    @Test(.enabled(if: ChannelBoundFormulas.applies(data: Float.self, output: Float.self)))
    func ordinaryDataAndExactZerosStayOnTheFastPath() throws {
        var g = TestGenerator(state: 12)
        let n = 8, c = 4, l = 256
        let x = (0..<n * c * l).map { _ in Float((g.uniform() - 0.5) * 6) }
        let shape = try BatchNormShape(dimensions: [n, c, l], layout: .channelsFirst)
        func exactPaths(dout: [Float], beta: [Double], x: [Float]) throws -> Int {
            try x.withUnsafeBufferPointer { xs in
                try dout.withUnsafeBufferPointer { ds in
                    try ExactBatchNorm.compute(
                        x: xs, dout: ds, shape: shape,
                        parameters: BatchNormParameters(gamma: [1, -2, 0.5, 3], beta: beta),
                        mode: .training, output: Float.self
                    ).exactPathCount
                }
            }
        }
        let random = (0..<x.count).map { _ in Float(g.uniform() - 0.5) }
        #expect(try exactPaths(dout: random, beta: [0, 0.5, -1, 2], x: x) == 0)
        // dout = ones: dx is exactly zero everywhere.
        #expect(try exactPaths(dout: Array(repeating: 1, count: x.count), beta: [0, 0.5, -1, 2], x: x) == 0)
        // Constant channels with beta = 0: out is exactly zero everywhere.
        #expect(try exactPaths(dout: random, beta: [0, 0, 0, 0], x: Array(repeating: 0.75, count: x.count)) == 0)
    }

    /// In evaluation a channel keeps its fast path when some `x` is NaN or infinite;
    /// those elements must come out NaN with the same bits as the exact path gives
    /// (a quiet NaN, not the input's payload), and their neighbours as usual.
    @Test func evaluationWithNonFiniteElements() throws {
        let shape = try BatchNormShape(dimensions: [2, 2, 8], layout: .channelsFirst)
        var x = (0..<32).map { Float($0) / 8 - 1 }
        x[3] = .nan
        x[5] = .infinity
        x[20] = -.infinity
        x[21] = Float(bitPattern: 0x7FC0_1234)  // a NaN with a payload
        let dout = (0..<32).map { Float(31 - $0) / 16 }
        let params = BatchNormParameters(
            gamma: [1.5, -1], beta: [0.25, 0], runningMean: [0.1, -0.2],
            runningVar: [2, 0.5])
        func run(fast: Bool) throws -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: 32), dx = out
            try x.withUnsafeBytes { xs in
                try dout.withUnsafeBytes { ds in
                    try out.withUnsafeMutableBufferPointer { o in
                        try dx.withUnsafeMutableBufferPointer { d in
                            _ = try ExactBatchNorm.compute(
                                BatchNormInput(
                                    x: xs, dout: ds, elementType: .float32, shape: shape,
                                    parameters: params, mode: .evaluation),
                                out: o, dx: d, threads: 1, paths: EnginePaths(fastElements: fast))
                        }
                    }
                }
            }
            return (out, dx)
        }
        let (fastOut, fastDx) = try run(fast: true), (exactOut, exactDx) = try run(fast: false)
        #expect(fastOut.map(\.bitPattern) == exactOut.map(\.bitPattern))
        #expect(fastDx.map(\.bitPattern) == exactDx.map(\.bitPattern))
        for i in [3, 5, 20, 21] { #expect(fastOut[i].isNaN && fastOut[i].bitPattern == Float.nan.bitPattern) }
        #expect(fastOut.enumerated().filter { ![3, 5, 20, 21].contains($0.offset) }.allSatisfy { $0.element.isFinite })
    }
}
