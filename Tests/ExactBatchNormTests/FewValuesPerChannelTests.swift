import Testing

@testable import ExactBatchNorm

/// Deep layers and BatchNorm1d: many channels of few values each (M = 1, 2, a 7x7
/// plane's 49 or its batch of four), where the per-channel paths decide the speed: the
/// one-pass integer sums on runs of any length and on strided runs, the certified
/// channel solve, and the double-double tier that settles elements the double formulas
/// leave in doubt. Each is compared bit for bit with its forced fallback, on the hostile
/// channels of ``CertifiedChannelSolveTests`` (|mean| >> std, constant channels,
/// dout = ones, tiny and huge magnitudes, grids of exact and tie results) and on
/// non-finite values.
@Suite struct FewValuesPerChannelTests {
    typealias Problem = CertifiedChannelSolveTests.Problem

    /// `out`, `dx` and every per-channel result (rounded into float16, float32, float64)
    /// as encodings, from one set of paths, with how many elements took the exact path.
    static func outcome<X: BatchNormFloat, Output: BatchNormFloat>(
        _ p: Problem, _: X.Type, _: Output.Type, dims: [Int], layout: ChannelLayout, parameters: BatchNormParameters,
        mode: BatchNormMode, paths: EnginePaths
    ) throws -> (bits: [[UInt64]], exactPaths: Int) {
        let x = p.x.map { X($0) }, dout = p.dout.map { X($0) }
        let shape = try BatchNormShape(dimensions: dims, layout: layout)
        let (out, dx, channels) = try ExactBatchNorm.compute(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: mode, output: Output.self, paths: paths)
        return ([out.map(\.encoding), dx!.map(\.encoding)] + channels.encodings, channels.exactPathCount)
    }

    /// All paths against each forced fallback; returns the fast run's exact-path count.
    @discardableResult
    static func compare<X: BatchNormFloat, Output: BatchNormFloat>(
        _ x: X.Type, _ output: Output.Type, n: Int, c: Int, l: Int, layout: ChannelLayout = .channelsFirst,
        seed: UInt64, mode: BatchNormMode = .training, variance: RunningVarianceConvention = .unbiased,
        poison: Double? = nil
    ) throws -> Int {
        var p = CertifiedChannelSolveTests.problem(n: n, c: c, l: l, seed: seed)
        if let poison {
            p.x[p.x.count / 2] = poison
            p.dout[1] = poison
        }
        let params = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean,
            runningVar: p.runningVar, runningVariance: variance)
        // The values are laid out as channels first; for channels last the same list is
        // read as (n, l, c), which is another problem but as hostile.
        let dims = l == 1 ? [n, c] : (layout == .channelsFirst ? [n, c, l] : [n, l, c])
        func run(_ paths: EnginePaths) throws -> (bits: [[UInt64]], exactPaths: Int) {
            try outcome(
                p, X.self, Output.self, dims: dims, layout: layout, parameters: params, mode: mode,
                paths: paths)
        }
        let fast = try run(.all)
        let exactSolve = try run(EnginePaths(certifiedSolve: false))
        let exactElements = try run(EnginePaths(fastElements: false))
        let label =
            "\(X.self)->\(Output.self) \(dims) \(layout) \(mode) seed \(seed) poison \(String(describing: poison))"
        #expect(fast.bits == exactSolve.bits, "certified solve differs: \(label)")
        #expect(fast.bits == exactElements.bits, "fast elements differ: \(label)")
        return fast.exactPaths
    }

    @Test func twoValuesPerChannelAgree() throws {
        for seed in UInt64(31)...33 {
            try Self.compare(Float.self, Float.self, n: 2, c: 60, l: 1, seed: seed)
            try Self.compare(Float16.self, Float16.self, n: 2, c: 60, l: 1, seed: seed)
            try Self.compare(BFloat16.self, BFloat16.self, n: 2, c: 60, l: 1, seed: seed)
            try Self.compare(Double.self, Double.self, n: 2, c: 60, l: 1, seed: seed)
            try Self.compare(Float.self, Double.self, n: 2, c: 60, l: 1, seed: seed)
            try Self.compare(Float.self, Float.self, n: 2, c: 60, l: 1, seed: seed, mode: .evaluation)
        }
    }

    @Test func oneValuePerChannelAgrees() throws {
        // Training with one value needs the biased running variance (torch refuses it).
        try Self.compare(Float.self, Float.self, n: 1, c: 60, l: 1, seed: 34, variance: .biased)
        try Self.compare(Float16.self, Float.self, n: 1, c: 60, l: 1, seed: 35, variance: .biased)
        try Self.compare(Float.self, Float.self, n: 1, c: 60, l: 1, seed: 36, mode: .evaluation)
    }

    /// Deep layers' planes (7x7 = 49, which is no whole number of lanes) and short rows,
    /// channels first and last.
    @Test func shortPlanesAgree() throws {
        for (l, seed) in [(49, UInt64(41)), (3, 42), (13, 43)] {
            try Self.compare(Float.self, Float.self, n: 4, c: 30, l: l, seed: seed)
            try Self.compare(Float.self, Float.self, n: 4, c: 30, l: l, layout: .channelsLast, seed: seed)
            try Self.compare(BFloat16.self, Float.self, n: 4, c: 30, l: l, seed: seed)
            try Self.compare(Float16.self, Float16.self, n: 2, c: 30, l: l, layout: .channelsLast, seed: seed)
        }
    }

    /// Planes of at most 64 values are computed channel by channel across bands of four
    /// batch rows (``BatchRows``): batches of 5 and 9 leave a short last band, and a
    /// non-finite value sends its channel off the bound path inside a band.
    @Test func channelsAcrossBatchRowsAgree() throws {
        for (n, l, seed) in [(5, 49, UInt64(44)), (9, 3, 45), (6, 64, 46)] {
            try Self.compare(Float.self, Float.self, n: n, c: 7, l: l, seed: seed)
            try Self.compare(Float16.self, Float16.self, n: n, c: 7, l: l, seed: seed)
            try Self.compare(Float.self, Double.self, n: n, c: 7, l: l, seed: seed)
            try Self.compare(Float.self, Float.self, n: n, c: 7, l: l, seed: seed, mode: .evaluation)
        }
        try Self.compare(Float.self, Float.self, n: 9, c: 7, l: 49, seed: 47, poison: .nan)
        try Self.compare(Float.self, Float.self, n: 9, c: 7, l: 49, seed: 48, mode: .evaluation, poison: .infinity)
    }

    /// How a range of units splits into a partial row, whole rows and a partial row, and
    /// when it does not split at all.
    @Test func batchRowsSplitUnitRanges() throws {
        let shape = try BatchNormShape(dimensions: [10, 3, 7, 7], layout: .channelsFirst)
        let rows = try #require(BatchRows(2..<29, shape: shape))
        #expect(rows.head == 2..<3 && rows.whole == 1..<9 && rows.tail == 27..<29)
        #expect(rows.bands == [1..<5, 5..<9])
        #expect(try #require(BatchRows(0..<30, shape: shape)).bands == [0..<4, 4..<8, 8..<10])
        #expect(BatchRows(2..<7, shape: shape) == nil, "one whole row")
        let large = try BatchNormShape(dimensions: [10, 3, 9, 9], layout: .channelsFirst)
        #expect(BatchRows(0..<30, shape: large) == nil, "81-value planes go unit by unit")
        let last = try BatchNormShape(dimensions: [10, 3, 7, 7], layout: .channelsLast)
        #expect(BatchRows(0..<30, shape: last) == nil)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteValuesAgree(_ poison: Double) throws {
        try Self.compare(Float.self, Float.self, n: 2, c: 30, l: 1, seed: 51, poison: poison)
        try Self.compare(Float.self, Float.self, n: 4, c: 30, l: 49, seed: 52, poison: poison)
        try Self.compare(Float.self, Float.self, n: 2, c: 30, l: 1, seed: 53, mode: .evaluation, poison: poison)
    }

    /// Two values per channel make `dx`'s two terms cancel to `eps/(var + eps)` of their
    /// size, beyond what double arithmetic can bound for wide pairs: the double-double
    /// tier must settle those elements (before it, about 0.2% of them went exact).
    @Test func doubleDoubleSettlesCancellingPairs() throws {
        var g = TestGenerator(state: 61)
        let c = 4096
        let x = (0..<2 * c).map { _ in Float((g.uniform() - 0.5) * 400) }
        let dout = (0..<2 * c).map { _ in Float(g.uniform() - 0.5) }
        let shape = try BatchNormShape(dimensions: [2, c], layout: .channelsFirst)
        let result = try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.compute(BatchNormInput(x: xs, dout: ds, shape: shape), output: Float.self)
            }
        }
        #expect(result.exactPathCount == 0)
        // The first 256 channels (rows of 4096 cut to 256) against the exact elements.
        let few = 256
        let rows = { (v: [Float]) in (v[0..<few] + v[c..<c + few]).map(Double.init) }
        let problem = Problem(x: rows(x), dout: rows(dout), gamma: [], beta: [], runningMean: [], runningVar: [])
        let fast = try Self.outcome(
            problem, Float.self, Float.self, dims: [2, few], layout: .channelsFirst,
            parameters: BatchNormParameters(), mode: .training, paths: .all)
        let exact = try Self.outcome(
            problem, Float.self, Float.self, dims: [2, few], layout: .channelsFirst,
            parameters: BatchNormParameters(), mode: .training,
            paths: EnginePaths(fastElements: false))
        #expect(fast.bits == exact.bits)
    }
}

/// Channels of a (2, 262144) benchmark input whose `dx` the double-double tier once
/// rounded wrongly (by one unit of float32): pairs whose `dx` cancels to about 1e-6 of
/// its terms. Every element must equal the exact path's.
@Suite struct CancellingPairRegressionTests {
    static let x0: [UInt32] = [
        1_073_499_993, 1_065_108_571, 3_221_547_527, 3_225_485_863, 1_065_701_844, 1_072_252_027, 3_219_044_664,
        1_056_081_434,
    ]
    static let x1: [UInt32] = [
        3_218_358_441, 3_223_702_142, 1_075_108_423, 1_074_641_041, 3_215_320_718, 3_208_073_390, 1_054_349_120,
        3_220_735_519,
    ]
    static let d0: [UInt32] = [
        3_217_573_245, 3_197_561_894, 1_067_260_900, 3_187_199_290, 1_068_258_630, 3_205_852_654, 1_049_409_258,
        1_067_534_200,
    ]
    static let d1: [UInt32] = [
        3_184_683_697, 1_064_893_988, 3_197_095_109, 1_058_184_491, 3_194_065_659, 1_035_822_528, 3_180_899_999,
        3_202_844_088,
    ]

    @Test func pairsAgreeWithTheExactPath() throws {
        let row = { (bits: [UInt32]) in bits.map { Double(Float(bitPattern: $0)) } }
        let problem = CertifiedChannelSolveTests.Problem(
            x: row(Self.x0) + row(Self.x1), dout: row(Self.d0) + row(Self.d1),
            gamma: [], beta: [], runningMean: [], runningVar: [])
        let c = Self.x0.count
        let fast = try FewValuesPerChannelTests.outcome(
            problem, Float.self, Float.self, dims: [2, c],
            layout: .channelsFirst, parameters: BatchNormParameters(),
            mode: .training, paths: .all)
        let exact = try FewValuesPerChannelTests.outcome(
            problem, Float.self, Float.self, dims: [2, c],
            layout: .channelsFirst, parameters: BatchNormParameters(),
            mode: .training, paths: EnginePaths(fastElements: false))
        #expect(fast.bits[1] == exact.bits[1], "dx")
        #expect(fast.bits == exact.bits)
    }
}
