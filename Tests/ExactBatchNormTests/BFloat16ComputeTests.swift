import Testing

@testable import ExactBatchNorm

/// The engine on bfloat16 data: the answer depends only on the values, so bfloat16
/// inputs must give exactly what the same values stored as float32 give (this runs
/// the type's own loads, sums and surveys against float32's), and ordinary data must
/// stay on the certified fast path but for the rare element.
@Suite struct BFloat16ComputeTests {
    static func data(count: Int, seed: UInt64, offset: Double) -> [BFloat16] {
        var g = TestGenerator(state: seed)
        return (0..<count).map { _ in BFloat16(roundingDouble: offset + (g.uniform() - 0.5) * 4) }
    }

    func run<X: BatchNormFloat>(
        _ x: [X], _ dout: [X], shape: BatchNormShape, mode: BatchNormMode,
        parameters: BatchNormParameters
    ) throws -> BatchNormResult<BFloat16> {
        try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.compute(
                    x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode,
                    output: BFloat16.self)
            }
        }
    }

    @Test(arguments: [
        (ChannelLayout.channelsFirst, BatchNormMode.training), (.channelsLast, .training),
        (.channelsFirst, .evaluation), (.channelsLast, .evaluation),
    ])
    func bfloat16DataGivesWhatTheSameValuesAsFloat32Give(layout: ChannelLayout, mode: BatchNormMode) throws {
        let dimensions = layout == .channelsFirst ? [4, 3, 9, 11] : [4, 9, 11, 3]
        let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
        let x = Self.data(count: shape.elementCount, seed: 3, offset: 7)
        let dout = Self.data(count: shape.elementCount, seed: 4, offset: 0)
        let parameters = BatchNormParameters(
            gamma: [1, -0.5, 2], beta: [0, 0.25, -1], runningMean: [7, 6.5, 0.1],
            runningVar: [1.5, 0.75, 2])
        let fromBF16 = try run(x, dout, shape: shape, mode: mode, parameters: parameters)
        let fromFloat = try run(x.map(\.float), dout.map(\.float), shape: shape, mode: mode, parameters: parameters)
        #expect(fromBF16.out.map(\.bitPattern) == fromFloat.out.map(\.bitPattern))
        #expect(fromBF16.dx!.map(\.bitPattern) == fromFloat.dx!.map(\.bitPattern))
        for quantity in ChannelQuantity.allCases {
            #expect(fromBF16.perChannel(quantity, as: Float.self) == fromFloat.perChannel(quantity, as: Float.self))
        }
        // The fast path certifies nearly all of them: only an element whose interval end
        // rounds to a bfloat16 midpoint in float32 (about 2^-15 of them) is left over.
        #expect(fromBF16.exactPathCount <= x.count / 1000)
        // Not a trivial agreement: the outputs are bfloat16, coarser than the data's sums.
        #expect(Set(fromBF16.out.map(\.bitPattern)).count > 100)
    }

    @Test func outputsRoundOnceFromTheExactValue() throws {
        // One channel, x = [0, 1, 2, 3] (mean 1.5, var 1.25), gamma = 1, beta = 0, eps = 0:
        // out = (x - 1.5)/sqrt(1.25), whose bfloat16 roundings are worked out by hand:
        // -1.3416... -> -1.34375, -0.4472... -> -0.447265625, and their negatives.
        let shape = try BatchNormShape(dimensions: [4, 1], layout: .channelsFirst)
        let x: [BFloat16] = [0, 1, 2, 3]
        let result = try x.withUnsafeBufferPointer { xs in
            try ExactBatchNorm.compute(
                x: xs, dout: nil, shape: shape,
                parameters: BatchNormParameters(eps: 0), mode: .training,
                output: BFloat16.self)
        }
        #expect(result.out.map(\.exactDouble) == [-1.34375, -0.447265625, 0.447265625, 1.34375])
    }
}
