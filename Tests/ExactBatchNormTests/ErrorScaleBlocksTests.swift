import Testing

@testable import ExactBatchNorm

/// The scales of out and dx computed a block at a time (`ElementScales`), and the passes
/// behind them cut among threads, against the whole-array definition written here: the
/// same bits for any blocks and any thread count.
@Suite struct ErrorScaleBlocksTests {
    /// Every element's scales and each channel's largest scale of out, run by run of
    /// every channel, as the whole-array pass computed them.
    static func reference(_ p: ScaleProblem, _ k: [ElementScaleCoefficients]) -> (
        out: [Double], dx: [Double]?, largest: [Double]
    ) {
        var out = [Double](repeating: .nan, count: p.x.count), largest = [Double](repeating: 0, count: p.channels)
        var dx = p.dout.map { _ in [Double](repeating: .nan, count: p.x.count) }
        for c in 0..<p.channels {
            for i in p.indices(ofChannel: c) {
                let value = p.x[i]
                out[i] =
                    k[c].outX * value.magnitude + k[c].outDeviation * (value - k[c].mean).magnitude + k[c].outConstant
                largest[c] = max(largest[c], out[i])
                if let dout = p.dout {
                    dx![i] =
                        k[c].dxDout * dout[i].magnitude + k[c].dxDeviation * (value - k[c].mean).magnitude
                        + k[c].dxX * value.magnitude + k[c].dxConstant
                }
            }
        }
        return (out, dx, largest)
    }

    /// The scales of `output`, filled over ranges cut at a few positions.
    static func inBlocks(_ scales: ElementScales, count: Int, seed: UInt64) -> [Double] {
        var g = TestGenerator(state: seed)
        var bounds = [0, count] + (0..<5).map { _ in Int(g.next() % UInt64(count + 1)) }
        bounds.sort()
        var values = [Double](repeating: .nan, count: count)
        values.withUnsafeMutableBufferPointer { values in
            for (lower, upper) in zip(bounds, bounds.dropFirst()) {
                scales.fill(lower..<upper, into: values.baseAddress! + lower)
            }
        }
        return values
    }

    @Test(arguments: ScaleDataSet.allCases, [BatchNormMode.training, .evaluation])
    func blocksAndThreadsGiveTheWholeArraysScales(dataSet: ScaleDataSet, mode: BatchNormMode) throws {
        let p = dataSet.problem(mode: mode)
        try p.x.withUnsafeBytes { xs in
            try p.dout!.withUnsafeBytes { ds in
                let result = try ExactBatchNorm.compute(
                    BatchNormInput(
                        x: xs, dout: ds, elementType: .float64, shape: p.shape, parameters: p.parameters,
                        mode: mode),
                    output: Double.self, threads: 1)
                let scales = [1, 3].map { threads in
                    try! ErrorScales(
                        x: xs, dout: ds, elementType: Double.self, shape: p.shape, parameters: p.parameters,
                        mode: mode, channels: result.channels, threads: threads)
                }
                let expected = Self.reference(p, scales[0].coefficients)
                for (n, s) in scales.enumerated() {
                    #expect(s.perChannel == scales[0].perChannel)
                    #expect(s.conditioning.map(\.outScale) == expected.largest, "\(dataSet) threads \(n)")
                    let out = Self.inBlocks(
                        s.elements(.out, x: xs.baseAddress!, dout: ds.baseAddress!)!,
                        count: p.x.count, seed: UInt64(n))
                    let dx = Self.inBlocks(
                        s.elements(.dx, x: xs.baseAddress!, dout: ds.baseAddress!)!,
                        count: p.x.count, seed: UInt64(n + 7))
                    #expect(out.map(\.bitPattern) == expected.out.map(\.bitPattern), "\(dataSet) out")
                    #expect(dx.map(\.bitPattern) == expected.dx!.map(\.bitPattern), "\(dataSet) dx")
                }
                #expect(scales[0].elements(.dx, x: xs.baseAddress!, dout: nil) == nil)
            }
        }
    }
}
