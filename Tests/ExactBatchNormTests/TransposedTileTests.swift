import Testing

@testable import ExactBatchNorm

/// Channels last with channels far apart (``TransposedTile/strideBytes`` or more), the
/// element pass copies tiles into channels-first order and back. The fast and exact
/// paths both run on the copies, so comparing them cannot catch a copy that moves a
/// value to the wrong place; this suite compares against the same problem laid out
/// channels first, whose runs are computed in place. Widths that are no whole number of
/// tiles, rows cut into several units (more than 512), BatchNorm1d's (N, C), the hostile
/// channels of ``CertifiedChannelSolveTests`` and non-finite values.
@Suite struct TransposedTileTests {
    typealias Problem = CertifiedChannelSolveTests.Problem

    /// `problem`'s values, laid out (n, c, l), moved to (n, l, c).
    static func channelsLast(_ values: [Double], n: Int, c: Int, l: Int) -> [Double] {
        var moved = values
        for row in 0..<n {
            for ch in 0..<c {
                for k in 0..<l { moved[(row * l + k) * c + ch] = values[(row * c + ch) * l + k] }
            }
        }
        return moved
    }

    /// The outcome of the problem laid out channels last (dims `[n, l, c]`, or the 2-D
    /// `[n, c]` when `l` is 1) against the same values channels first, as
    /// (n, c, l), or (1, c, n) for the 2-D input, which has the same values per channel.
    static func compare<X: BatchNormFloat>(
        _: X.Type, n: Int, c: Int, l: Int, seed: UInt64, mode: BatchNormMode = .training, poison: Double? = nil
    ) throws {
        var p = CertifiedChannelSolveTests.problem(n: n, c: c, l: l, seed: seed)
        if let poison { p.x[p.x.count / 3] = poison }
        let params = BatchNormParameters(
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar)
        let last = Problem(
            x: channelsLast(p.x, n: n, c: c, l: l), dout: channelsLast(p.dout, n: n, c: c, l: l),
            gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar)
        let twoD = l == 1
        let (firstProblem, firstDims) =
            twoD
            ? (
                Problem(
                    x: channelsLast(p.x, n: n, c: c, l: 1).transposed(n, c),
                    dout: channelsLast(p.dout, n: n, c: c, l: 1).transposed(n, c),
                    gamma: p.gamma, beta: p.beta, runningMean: p.runningMean, runningVar: p.runningVar), [1, c, n]
            ) : (p, [n, c, l])
        let inPlace = try FewValuesPerChannelTests.outcome(
            firstProblem, X.self, X.self, dims: firstDims, layout: .channelsFirst, parameters: params, mode: mode,
            paths: .all)
        let tiled = try FewValuesPerChannelTests.outcome(
            last, X.self, X.self, dims: twoD ? [n, c] : [n, l, c], layout: twoD ? .channelsFirst : .channelsLast,
            parameters: params, mode: mode, paths: .all)
        // Element outputs back to the channels-first order; per-channel results as they are.
        let back: ([UInt64]) -> [UInt64] = { bits in
            twoD
                ? bits.transposed(n, c)
                : (0..<n * c * l).map { i in
                    let (row, ch, k) = (i / (c * l), (i / l) % c, i % l)
                    return bits[(row * l + k) * c + ch]
                }
        }
        let label = "\(X.self) n \(n) c \(c) l \(l) \(mode) seed \(seed) poison \(String(describing: poison))"
        #expect(back(tiled.bits[0]) == inPlace.bits[0], "out differs: \(label)")
        #expect(back(tiled.bits[1]) == inPlace.bits[1], "dx differs: \(label)")
        #expect(Array(tiled.bits.dropFirst(2)) == Array(inPlace.bits.dropFirst(2)), "channels differ: \(label)")
    }

    @Test func tilesMatchTheChannelsFirstLayout() throws {
        // float32 channels 2080 bytes apart and more; 520 is no whole number of tiles.
        try Self.compare(Float.self, n: 2, c: 520, l: 3, seed: 71)
        try Self.compare(Float.self, n: 1, c: 1027, l: 600, seed: 72)
        try Self.compare(Float.self, n: 3, c: 530, l: 2, seed: 73, mode: .evaluation)
        try Self.compare(Double.self, n: 2, c: 261, l: 5, seed: 74)
        try Self.compare(Float16.self, n: 2, c: 1030, l: 4, seed: 75)
        try Self.compare(BFloat16.self, n: 2, c: 1030, l: 4, seed: 76)
    }

    @Test func batchNorm1dMatchesTheChannelsFirstLayout() throws {
        try Self.compare(Float.self, n: 64, c: 1040, l: 1, seed: 77)
        try Self.compare(Float.self, n: 2, c: 4100, l: 1, seed: 78)
        try Self.compare(Float.self, n: 600, c: 520, l: 1, seed: 79, mode: .evaluation)
    }

    @Test(arguments: [Double.nan, .infinity])
    func nonFiniteValuesMatch(_ poison: Double) throws {
        try Self.compare(Float.self, n: 2, c: 520, l: 3, seed: 80, poison: poison)
        try Self.compare(Float.self, n: 8, c: 520, l: 1, seed: 81, poison: poison)
    }
}

extension Array {
    /// An (rows, columns) matrix in row-major order, transposed.
    fileprivate func transposed(_ rows: Int, _ columns: Int) -> [Element] {
        (0..<rows * columns).map { i in self[(i % rows) * columns + i / rows] }
    }

}
