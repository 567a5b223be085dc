import Testing

@testable import ExactBatchNorm

/// The engine in two halves, ``ExactBatchNorm/prepare(_:output:threads:)`` then the
/// element pass of ``ExactBatchNorm/compute(_:prepared:output:blockBytes:threads:deliver:)``,
/// against one whole-array computation: the same bits of out and dx, the same
/// per-channel results (before the element pass and after it), the same count of exact
/// paths. The prepared value is made from copies of x and dout that are overwritten
/// before the element pass runs on the originals, so a pointer kept past `prepare`
/// would show as differing bits. The data are the hostile channels of
/// ``CertifiedChannelSolveTests`` (ties and exact results, |mean| >> std, constant
/// channels, tiny and huge values), which send elements to the exact path.
@Suite struct PreparedComputeTests {
    typealias Problem = CertifiedChannelSolveTests.Problem

    struct Case: CustomTestStringConvertible {
        let n: Int, c: Int, l: Int
        let layout: ChannelLayout
        let mode: BatchNormMode
        let withDout: Bool
        /// The problem's values laid out channels first, read as (n, l, c) for channels last.
        var dimensions: [Int] { l == 1 ? [n, c] : (layout == .channelsFirst ? [n, c, l] : [n, l, c]) }
        var testDescription: String {
            "\(dimensions) \(layout.rawValue) \(mode) \(withDout ? "with" : "without") dout"
        }
    }

    static let cases = [
        Case(n: 4, c: 30, l: 49, layout: .channelsFirst, mode: .training, withDout: true),
        Case(n: 4, c: 30, l: 49, layout: .channelsLast, mode: .training, withDout: true),
        Case(n: 3, c: 20, l: 77, layout: .channelsLast, mode: .evaluation, withDout: true),
        Case(n: 4, c: 30, l: 49, layout: .channelsFirst, mode: .evaluation, withDout: false),
        Case(n: 2, c: 60, l: 1, layout: .channelsFirst, mode: .training, withDout: false),
        Case(n: 6, c: 20, l: 1, layout: .channelsFirst, mode: .training, withDout: true),
    ]

    /// The outputs' encodings, the per-channel results' and the exact-path count.
    struct Outcome: Equatable {
        var out: [UInt64], dx: [UInt64]?, channels: [[UInt64]], exactPaths: Int
    }

    static func input(_ p: Problem, _ c: Case) throws -> (BatchNormShape, BatchNormParameters) {
        let parameters = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar)
        return (try BatchNormShape(dimensions: c.dimensions, layout: c.layout), parameters)
    }

    /// The whole-array computation, with a choice of paths.
    static func whole<X: BatchNormFloat, Output: BatchNormFloat>(
        _ x: [X], _ dout: [X]?, _ shape: BatchNormShape, _ parameters: BatchNormParameters, _ mode: BatchNormMode,
        _: Output.Type, paths: EnginePaths = .all
    ) throws -> Outcome {
        var out = [Output](repeating: 0, count: x.count)
        var dx = dout.map { _ in out }
        let channels = try x.withUnsafeBufferPointer { xs in
            try withOptionalBuffer(dout) { ds in
                try out.withUnsafeMutableBufferPointer { o in
                    try withOptionalMutableBuffer(&dx) { d in
                        try ExactBatchNorm.compute(
                            BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode),
                            out: o, dx: d, threads: 2, paths: paths)
                    }
                }
            }
        }
        return Outcome(
            out: out.map(\.encoding), dx: dx?.map(\.encoding), channels: channels.encodings,
            exactPaths: channels.exactPathCount)
    }

    /// `prepare` on copies of x and dout, which are then overwritten with NaN, and the
    /// element pass on the originals in blocks of `blockBytes`; checks the blocks' order
    /// and that the prepared channels are the final ones but for the count.
    static func halves<X: BatchNormFloat, Output: BatchNormFloat>(
        _ x: [X], _ dout: [X]?, _ shape: BatchNormShape, _ parameters: BatchNormParameters, _ mode: BatchNormMode,
        _: Output.Type, blockBytes: Int, paths: EnginePaths = .all
    ) throws -> Outcome {
        // Copies in storage of their own (a copied array would share x's until written).
        var xCopy = x.map { $0 }, doutCopy = dout?.map { $0 }
        let prepared = try xCopy.withUnsafeBufferPointer { xs in
            try withOptionalBuffer(doutCopy) { ds in
                try ExactBatchNorm.prepare(
                    BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode),
                    output: Output.self, threads: 2, paths: paths)
            }
        }
        xCopy.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
        _ = withOptionalMutableBuffer(&doutCopy) { $0?.update(repeating: .nan) }
        #expect(prepared.outputType == Output.elementType)
        #expect(prepared.channels.exactPathCount == 0)
        var out: [Output] = [], dx: [Output]? = dout.map { _ in [] }
        let channels = try x.withUnsafeBufferPointer { xs in
            try withOptionalBuffer(dout) { ds in
                try ExactBatchNorm.compute(
                    BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode),
                    prepared: prepared, output: Output.self, blockBytes: blockBytes, threads: 2
                ) { range, o, d in
                    #expect(range.lowerBound == out.count && o.count == range.count && (d == nil) == (dout == nil))
                    out += o
                    if let d { dx! += d }
                }
            }
        }
        #expect(out.count == x.count)
        #expect(prepared.channels.encodings == channels.encodings)
        return Outcome(
            out: out.map(\.encoding), dx: dx?.map(\.encoding), channels: channels.encodings,
            exactPaths: channels.exactPathCount)
    }

    /// Both ways on one case.
    static func compare<X: BatchNormFloat, Output: BatchNormFloat>(
        _: X.Type, _: Output.Type, _ c: Case, seed: UInt64, blockBytes: Int = 4096
    ) throws {
        let p = CertifiedChannelSolveTests.problem(n: c.n, c: c.c, l: c.l, seed: seed)
        let (shape, parameters) = try input(p, c)
        let x = p.x.map { X($0) }, dout = c.withDout ? p.dout.map { X($0) } : nil
        let whole = try whole(x, dout, shape, parameters, c.mode, Output.self)
        let halves = try halves(x, dout, shape, parameters, c.mode, Output.self, blockBytes: blockBytes)
        #expect(halves == whole, "\(X.self)->\(Output.self) \(c.testDescription)")
    }

    @Test(arguments: cases)
    func halvesEqualTheWholeComputation(_ c: Case) throws {
        try Self.compare(Float.self, Float.self, c, seed: 71)
        try Self.compare(Float16.self, Float16.self, c, seed: 72)
        try Self.compare(BFloat16.self, BFloat16.self, c, seed: 73)
        try Self.compare(Double.self, Double.self, c, seed: 74)
        try Self.compare(Float.self, Double.self, c, seed: 75)
        try Self.compare(BFloat16.self, Float.self, c, seed: 76, blockBytes: 1)
    }

    /// Every element on the exact path (and every channel solved in rationals) gives the
    /// same bits through the halves.
    @Test func forcedFallbacksThroughTheHalves() throws {
        let c = Case(n: 4, c: 30, l: 13, layout: .channelsLast, mode: .training, withDout: true)
        let p = CertifiedChannelSolveTests.problem(n: c.n, c: c.c, l: c.l, seed: 77)
        let (shape, parameters) = try Self.input(p, c)
        let x = p.x.map { Float($0) }, dout = p.dout.map { Float($0) }
        for paths in [EnginePaths(fastElements: false), EnginePaths(certifiedSolve: false)] {
            let whole = try Self.whole(x, dout, shape, parameters, c.mode, Float.self, paths: paths)
            let halves = try Self.halves(x, dout, shape, parameters, c.mode, Float.self, blockBytes: 512, paths: paths)
            #expect(halves == whole)
        }
    }

    /// Channels whose outputs are exactly ties of float16 (midpoints between two
    /// neighbours, which no error bound can decide), with eps = 0 and gamma = 1. In
    /// evaluation, with a running mean of 0 and variance of 1, out = x and dx = dout,
    /// both odd multiples of 2^-11 in [1, 2): every element takes the exact path. In
    /// training two values per channel, 2 apart, make xhat -1 and 1 exactly, and beta =
    /// 2^-11 makes out = 1 + 2^-11 a tie where xhat = 1: half the elements at least.
    /// The exact path runs on terms solved again during the element pass, for channels
    /// that the certified solve made without them.
    static func ties(channels c: Int, mode: BatchNormMode, seed: UInt64) -> (Problem, [Int]) {
        var g = TestGenerator(state: seed)
        let n = 2
        let midpoint = { 1 + Double(2 * Int(g.next() % 1024) + 1) * 0x1p-11 }
        let x = (0..<n * c).map { i in mode == .evaluation ? midpoint() : Double(i / c) * 2 - 3 }
        let dout = (0..<n * c).map { _ in midpoint() }
        let beta = mode == .evaluation ? 0 : 0x1p-11
        let p = Problem(
            x: x, dout: dout, gamma: Array(repeating: 1, count: c), beta: Array(repeating: beta, count: c),
            runningMean: Array(repeating: 0, count: c), runningVar: Array(repeating: 1, count: c))
        return (p, [n, c])
    }

    /// The ties, and more channels than the first pass sums at once
    /// (``ExactBatchNorm/channelChunk``): then no sums are kept, and a channel's exact
    /// terms are summed again from the values the element pass is given.
    @Test(arguments: [BatchNormMode.evaluation, .training], [60, ExactBatchNorm.channelChunk + 40])
    func tiesTakeTheExactPath(mode: BatchNormMode, channels: Int) throws {
        let (p, dims) = Self.ties(channels: channels, mode: mode, seed: 79)
        let shape = try BatchNormShape(dimensions: dims, layout: .channelsFirst)
        let parameters = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar, eps: 0)
        let x = p.x.map { Float($0) }, dout = p.dout.map { Float($0) }
        let prepared = try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.prepare(
                    BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode),
                    output: Float16.self)
            }
        }
        // Certified channels, without exact terms until an element asks for them.
        #expect(prepared.solutions.allSatisfy { $0.terms == nil })
        let whole = try Self.whole(x, dout, shape, parameters, mode, Float16.self)
        let halves = try Self.halves(x, dout, shape, parameters, mode, Float16.self, blockBytes: 1 << 14)
        #expect(halves == whole)
        #expect(mode == .evaluation ? whole.exactPaths == x.count : whole.exactPaths >= x.count / 2)
    }

    /// An input that is not the prepared problem is refused before any block, naming
    /// what differs; what only looks different (beta and the running mean omitted or
    /// given as their defaults, a NaN gamma against itself, x at another address) is
    /// accepted.
    @Test func anotherProblemIsRefused() throws {
        let shape = try BatchNormShape(dimensions: [2, 3, 4], layout: .channelsFirst)
        let x = (0..<24).map { Float($0 % 7) / 4 }, dout = (0..<24).map { Float($0 % 5) - 2 }
        let doubles = x.map(Double.init)
        let parameters = BatchNormParameters(gamma: [1, .nan, 2])
        let prepared = try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.prepare(
                    BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters), output: Float.self)
            }
        }
        func run<X: BatchNormFloat, Output: BatchNormFloat>(
            _ x: [X], withDout: Bool = true, shape: BatchNormShape = shape,
            parameters: BatchNormParameters = parameters, mode: BatchNormMode = .training, output _: Output.Type
        ) throws -> Int {
            var blocks = 0
            try x.withUnsafeBytes { xs in
                try dout.withUnsafeBytes { ds in
                    let input = BatchNormInput(
                        x: xs, dout: withDout ? ds : nil, elementType: X.elementType, shape: shape,
                        parameters: parameters, mode: mode)
                    _ = try ExactBatchNorm.compute(input, prepared: prepared, output: Output.self) { _, _, _ in
                        blocks += 1
                    }
                }
            }
            return blocks
        }
        func refusal(_ says: String, _ attempt: () throws -> Int) {
            do {
                _ = try attempt()
                Issue.record("accepted an input whose \(says)")
            } catch let error as BatchNormError {
                guard case .notThePreparedProblem = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(error.description.contains(says), "\(error)")
                #expect(!error.description.contains("\n"))
            } catch {
                Issue.record("\(error)")
            }
        }
        refusal("x's shape is [2, 4, 3]") {
            try run(x, shape: try BatchNormShape(dimensions: [2, 4, 3], layout: .channelsFirst), output: Float.self)
        }
        refusal("the layout is nhwc") {
            try run(x, shape: try BatchNormShape(dimensions: [2, 3, 4], layout: .channelsLast), output: Float.self)
        }
        refusal("x's element type is float64") { try run(doubles, output: Float.self) }
        refusal("the output type is float64") { try run(x, output: Double.self) }
        refusal("the mode is evaluation") { try run(x, mode: .evaluation, output: Float.self) }
        refusal("dout is missing") { try run(x, withDout: false, output: Float.self) }
        refusal("gamma differs") {
            try run(x, parameters: BatchNormParameters(gamma: [1, .nan, 2.0.nextUp]), output: Float.self)
        }
        refusal("beta differs") {
            try run(x, parameters: BatchNormParameters(gamma: [1, .nan, 2], beta: [0, -0.0, 0]), output: Float.self)
        }
        refusal("eps differs") {
            try run(x, parameters: BatchNormParameters(gamma: [1, .nan, 2], eps: 1e-3), output: Float.self)
        }
        refusal("the running variance convention differs") {
            try run(
                x, parameters: BatchNormParameters(gamma: [1, .nan, 2], runningVariance: .biased),
                output: Float.self)
        }
        // The same problem: beta and the running mean as their defaults; x copied elsewhere.
        let same = BatchNormParameters(gamma: [1, .nan, 2], beta: [0, 0, 0], runningMean: [0, 0, 0])
        #expect(try run(x.map { $0 }, parameters: same, output: Float.self) == 1)
        #expect(try run(x, output: Float.self) == 1)
    }
}
