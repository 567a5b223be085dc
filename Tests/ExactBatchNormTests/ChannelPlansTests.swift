import Testing

@testable import ExactBatchNorm

/// The element plans (``ChannelPlans``): which path each channel takes, what it costs
/// per channel, and the fast constants that a channel keeping only its bound gets solved
/// again when an element of it is in doubt.
@Suite struct ChannelPlansTests {
    /// The hostile flavours of ``CertifiedChannelSolveTests`` as float32 in `[n, c]`.
    static func input(n: Int, c: Int, mode: BatchNormMode = .training, poisoned: Int? = nil)
        throws -> (x: [Float], dout: [Float], shape: BatchNormShape, parameters: BatchNormParameters)
    {
        let p = CertifiedChannelSolveTests.problem(n: n, c: c, l: 1, seed: 31)
        var x = p.x.map { Float($0) }
        if let poisoned { x[poisoned] = .nan }
        let parameters = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar, eps: 1e-5,
            momentum: 0.1)
        return (x, p.dout.map { Float($0) }, try BatchNormShape(dimensions: [n, c], layout: .channelsFirst), parameters)
    }

    /// Prepares the input and hands its plans and the problem bound to its buffers to `body`.
    static func withPrepared<X: BatchNormFloat, Output: BatchNormFloat, R>(
        x: [X], dout: [X], shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode,
        output _: Output.Type, _ body: (ChannelPlans, ExactBatchNorm.Solved<X, Output>) throws -> R
    ) throws -> R {
        try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                let input = BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode)
                let prepared = try ExactBatchNorm.prepare(input, output: Output.self, threads: 2)
                return try body(prepared.plans, prepared.bound(to: input))
            }
        }
    }

    /// A channel of float32 data keeps 81 bytes: an 80-byte bound and a byte of path;
    /// one of float64 its 136-byte constants and the byte.
    @Test func planSizesPerChannel() {
        #expect(MemoryLayout<ChannelBound>.stride == 80)
        #expect(MemoryLayout<ChannelPath>.stride == 1)
        #expect(MemoryLayout<FastConstants>.stride == 136)
    }

    /// Every finite float32 channel with fast constants takes the bound; the constants
    /// solved again on demand make the very bound the plan holds, from the sums kept
    /// (one chunk) and from the values summed again (beyond one chunk).
    @Test(arguments: [40, ExactBatchNorm.channelChunk + 40])
    func constantsSolvedAgainGiveTheSameBound(channels c: Int) throws {
        let (x, dout, shape, parameters) = try Self.input(n: 2, c: c)
        try Self.withPrepared(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: .training, output: Float.self
        ) { plans, solved in
            #expect(plans.storage.general == nil && plans.aside.isEmpty)
            let bounded = (0..<c).filter { plans.path($0).kind == .bound }
            #expect(bounded.count > c * 3 / 4, "only \(bounded.count) of \(c) channels bounded")
            for ch in bounded.filter({ $0 % 97 == 3 || $0 >= c - 12 }) {
                let again = try #require(ChannelBound(solved.channels.fastConstants(ch), scale: plans.scale))
                #expect(again.bits == plans.storage.bounds![ch].bits, "channel \(ch)")
            }
        }
    }

    /// In evaluation a channel with a NaN in `x` has terms but no bound: its constants
    /// are kept aside, and its other elements are the exact path's bits.
    @Test func channelsWithoutABoundKeepTheirConstantsAside() throws {
        let (x, dout, shape, parameters) = try Self.input(n: 3, c: 12, mode: .evaluation, poisoned: 12 + 5)
        try Self.withPrepared(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: .evaluation, output: Float.self
        ) { plans, _ in
            #expect(plans.path(5).kind == .general)
            #expect(plans.aside.keys.sorted() == [5])
            #expect((0..<12).filter { $0 != 5 }.allSatisfy { plans.path($0).kind != .general })
        }
        let fast = try ExactBatchNorm.compute(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: .evaluation, output: Float.self,
            paths: .all)
        let exact = try ExactBatchNorm.compute(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: .evaluation, output: Float.self,
            paths: EnginePaths(fastElements: false))
        #expect(fast.out.map(\.bitPattern) == exact.out.map(\.bitPattern))
        #expect(fast.dx!.map(\.bitPattern) == exact.dx!.map(\.bitPattern))
    }

    /// Float64 outputs need the general formulas: every channel keeps its constants, none
    /// a bound.
    @Test func widerOutputsKeepEveryChannelsConstants() throws {
        let (x, dout, shape, parameters) = try Self.input(n: 2, c: 24)
        try Self.withPrepared(
            x: x, dout: dout, shape: shape, parameters: parameters, mode: .training, output: Double.self
        ) { plans, _ in
            #expect(plans.storage.bounds == nil && plans.storage.general?.count == 24)
            #expect((0..<24).allSatisfy { plans.path($0).kind != .bound })
            #expect((0..<24).contains { plans.path($0).kind == .general })
        }
    }
}

extension ChannelBound {
    /// The ten doubles' encodings, to compare bounds bit for bit.
    var bits: [UInt64] {
        [xShift, doutShift, g, k2, beta, outSlope, outFloor, dxSlopeA, dxSlopeB, dxFloor].map(\.bitPattern)
    }
}
