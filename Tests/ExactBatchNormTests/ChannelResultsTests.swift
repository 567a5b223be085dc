import Testing

@testable import ExactBatchNorm

/// The per-channel solutions as the engine keeps them (``ChannelResults``): 56 bytes a
/// channel where no big rational is involved, every value and sticky kept, the rest
/// whole.
@Suite struct ChannelResultsTests {
    /// A solution of certified and special values with the stickies given, one per quantity.
    static func solution(stickies: [Int8], gradients: Bool) -> ChannelSolution {
        let values = (0..<6).map { k -> ChannelValue in
            let d = [1.5, 0x1p-1074, -3e300, 0.1, -0.0, 7][k]
            return k == 3 ? .special(.nan) : .certified(d, sticky: stickies[k])
        }
        return ChannelSolution(
            mean: values[0], invstd: values[1], runningMean: values[2], runningVar: values[3],
            dgamma: gradients ? values[4] : nil, dbeta: gradients ? values[5] : nil, terms: nil,
            fastBox: nil, hasOutTerms: true, hasDxTerms: gradients, xFinite: false, isCertified: true)
    }

    @Test func aCompactSolutionTakesFiftySixBytes() {
        #expect(MemoryLayout<CompactSolution>.stride == 56)
    }

    /// Every value's bits and every sticky come back, in each position, and so do the
    /// flags; a special value comes back as a certified one with sticky 0.
    @Test(arguments: [Int8(-1), 0, 1])
    func valuesAndStickiesComeBack(sticky: Int8) throws {
        for position in 0..<6 {
            for gradients in [false, true] {
                var stickies = [Int8](repeating: 0, count: 6)
                stickies[position] = sticky
                stickies[(position + 3) % 6] = -sticky
                let original = Self.solution(stickies: stickies, gradients: gradients)
                let compact = try #require(CompactSolution(original))
                for (k, q) in ChannelQuantity.allCases.enumerated() {
                    guard let value = compact.value(q) else {
                        #expect(k >= 4 && !gradients)
                        continue
                    }
                    guard case .certified(let d, let s) = value else {
                        Issue.record("\(q) is not certified")
                        continue
                    }
                    switch original.value(q)! {
                    case .certified(let e, let t): #expect(d.bitPattern == e.bitPattern && s == t, "\(q)")
                    case .special(let e): #expect(d.bitPattern == e.bitPattern && s == 0, "\(q)")
                    case .exact: Issue.record("no exact value was made")
                    }
                }
                let back = compact.solution
                #expect(back.hasOutTerms && back.hasDxTerms == gradients && !back.xFinite && back.isCertified)
                #expect((back.dgamma == nil) == !gradients)
            }
        }
    }

    /// Exact solutions are kept whole, certified ones compact; either way the results
    /// are the same bits.
    @Test func exactSolutionsAreKeptWhole() throws {
        let p = CertifiedChannelSolveTests.problem(n: 3, c: 20, l: 4, seed: 41)
        let shape = try BatchNormShape(dimensions: [3, 20, 4], layout: .channelsFirst)
        let parameters = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar, eps: 1e-5)
        let x = p.x.map { Float($0) }, dout = p.dout.map { Float($0) }
        func channels(certified: Bool) throws -> BatchNormChannels {
            try ExactBatchNorm.compute(
                x: x, dout: dout, shape: shape, parameters: parameters, mode: .training, output: Float.self,
                paths: EnginePaths(certifiedSolve: certified)
            ).channels
        }
        let exact = try channels(certified: false), certified = try channels(certified: true)
        #expect(exact.channels.whole.count == 20)
        #expect(certified.channels.whole.count == certified.channels.filter { !$0.isCertified }.count)
        #expect(certified.channels.whole.count < 5)
        #expect(certified.encodings == exact.encodings)
    }
}
