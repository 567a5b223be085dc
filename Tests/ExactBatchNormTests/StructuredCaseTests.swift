import ExactBatchNorm
import Testing

/// Cases whose exact answers are known in closed form, at sizes and offsets the
/// committed fixtures cannot reach.
@Suite struct StructuredCaseTests {
    /// x = a + b*s with s = +1, -1, +1, ... per channel: the mean is a and the biased
    /// variance b^2 exactly, so with eps = 0 every xhat is exactly +-1. With a = 1000
    /// and b = 2^-10 in float32, |mean|/std is about 10^6: naive float32 statistics lose
    /// every bit of the deviation, and the exact engine must still give out = +-gamma +
    /// beta, dbeta = sum dout, and dx = 0, dgamma = M for dout = s.
    @Test(arguments: [1, 2])
    func offsetAlternatingChannelsAreExact(threads: Int) throws {
        let n = 4, c = 3, l = 1 << 18
        let m = n * l
        var x = [Float](repeating: 0, count: n * c * l)
        var dout = x
        for i in 0..<n {
            for ch in 0..<c {
                for k in 0..<l {
                    let s: Float = (k & 1 == 0) ? 1 : -1
                    x[(i * c + ch) * l + k] = 1000 + s * 0x1p-10
                    dout[(i * c + ch) * l + k] = s
                }
            }
        }
        let shape = try BatchNormShape(dimensions: [n, c, l], layout: .channelsFirst)
        let gamma: [Double] = [2, -0.5, 0]
        let beta: [Double] = [0.25, 0, -3]
        let params = BatchNormParameters(gamma: gamma, beta: beta, eps: 0)
        let r = try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.compute(
                    x: xs, dout: ds, shape: shape, parameters: params, mode: .training,
                    output: Float.self, threads: threads)
            }
        }
        for i in 0..<n {
            for ch in 0..<c {
                for k in stride(from: 0, to: l, by: 997) {
                    let s: Double = (k & 1 == 0) ? 1 : -1
                    let index = (i * c + ch) * l + k
                    #expect(r.out[index] == Float(s * gamma[ch] + beta[ch]))
                    #expect(r.dx![index] == 0 && r.dx![index].sign == .plus)
                }
            }
        }
        #expect(r.out.indices.allSatisfy { r.dx![$0] == 0 })
        #expect(r.perChannel(.mean, as: Float.self) == [1000, 1000, 1000])
        #expect(r.perChannel(.invstd, as: Float.self) == [1024, 1024, 1024])
        #expect(r.perChannel(.dbeta, as: Float.self) == [0, 0, 0])
        #expect(r.perChannel(.dgamma, as: Float.self) == [Float(m), Float(m), Float(m)])
        // Unbiased running variance: 0.9 * 1 + 0.1 * 2^-20 * M/(M-1), rounded once.
        let expectedVar = Float(0.9 + 0.1 * 0x1p-20 * Double(m) / Double(m - 1))
        #expect(r.perChannel(.runningVar, as: Float.self)!.allSatisfy { $0 == expectedVar })
    }

    /// The same data in channels-last order gives the same bits.
    @Test func layoutDoesNotChangeTheBits() throws {
        let n = 5, c = 7, h = 6, w = 9
        var state: UInt64 = 7
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 20001 - 10000) / 997
        }
        let nchw = (0..<n * c * h * w).map { _ in next() }
        let dnchw = (0..<n * c * h * w).map { _ in next() }
        func toNHWC(_ a: [Float]) -> [Float] {
            var b = a
            for i in 0..<n {
                for ch in 0..<c {
                    for y in 0..<h {
                        for xx in 0..<w {
                            b[((i * h + y) * w + xx) * c + ch] = a[((i * c + ch) * h + y) * w + xx]
                        }
                    }
                }
            }
            return b
        }
        let params = BatchNormParameters(gamma: (0..<c).map { Double($0) - 3 }, beta: (0..<c).map { Double($0) / 8 })
        func run(_ x: [Float], _ d: [Float], _ layout: ChannelLayout, _ dims: [Int]) throws -> BatchNormResult<Float> {
            try x.withUnsafeBufferPointer { xs in
                try d.withUnsafeBufferPointer { ds in
                    try ExactBatchNorm.compute(
                        x: xs, dout: ds, shape: BatchNormShape(dimensions: dims, layout: layout),
                        parameters: params, mode: .training, output: Float.self, threads: 2)
                }
            }
        }
        let a = try run(nchw, dnchw, .channelsFirst, [n, c, h, w])
        let b = try run(toNHWC(nchw), toNHWC(dnchw), .channelsLast, [n, h, w, c])
        #expect(toNHWC(a.out).map(\.bitPattern) == b.out.map(\.bitPattern))
        #expect(toNHWC(a.dx!).map(\.bitPattern) == b.dx!.map(\.bitPattern))
        for q in ChannelQuantity.allCases {
            #expect(a.perChannel(q, as: Double.self) == b.perChannel(q, as: Double.self))
        }
    }

    @Test func refusesWhatTorchRefuses() throws {
        let x: [Float] = [1, 2, 3]
        try x.withUnsafeBufferPointer { xs in
            let single = try BatchNormShape(dimensions: [1, 3], layout: .channelsFirst)
            #expect(throws: BatchNormError.oneValuePerChannel(shape: [1, 3])) {
                try ExactBatchNorm.compute(
                    x: xs, dout: nil, shape: single, parameters: BatchNormParameters(),
                    mode: .training, output: Float.self)
            }
            // Evaluation mode needs no batch statistics, so one row is fine. With
            // running_var 3 and eps 1, invstd is exactly 1/2.
            let evalParameters = BatchNormParameters(runningMean: [0, 1, -1], runningVar: [3, 3, 3], eps: 1)
            let r = try ExactBatchNorm.compute(
                x: xs, dout: nil, shape: single, parameters: evalParameters,
                mode: .evaluation, output: Float.self)
            #expect(r.out == [0.5, 0.5, 2])
            #expect(r.perChannel(.invstd, as: Float.self) == [0.5, 0.5, 0.5])
            #expect(throws: BatchNormError.lengthMismatch(name: "gamma", expected: 3, found: 2)) {
                try ExactBatchNorm.compute(
                    x: xs, dout: nil, shape: single, parameters: BatchNormParameters(gamma: [1, 2]),
                    mode: .evaluation, output: Float.self)
            }
        }
        #expect(throws: BatchNormError.self) { try BatchNormShape(dimensions: [3], layout: .channelsFirst) }
        #expect(throws: BatchNormError.self) {
            try BatchNormShape(dimensions: [1, 2, 3, 4, 5, 6], layout: .channelsFirst)
        }
    }
}
