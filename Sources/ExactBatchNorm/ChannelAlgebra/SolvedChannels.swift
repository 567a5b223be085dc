/// Every channel's solution, and on first demand the exact element terms of a channel
/// that the certified solve (``FastChannelSolve``) made without them.
///
/// The element kernel asks for exact terms only for elements its fast path cannot
/// certify, which on typical data is a handful per million; keeping them out of every
/// channel's solution saves each channel its big integers. A channel's exact solution,
/// once made, is kept for the rest of the computation (blocks of streamed output
/// included), so no channel is solved exactly twice.
///
/// Likewise the fast constants of a channel whose element plan keeps only its bound
/// (``ChannelPlans``): an element in doubt needs them to be settled in double-double,
/// so they are solved again, once per channel, the way they were solved at first.
final class SolvedChannels: Sendable {
    let solutions: ChannelResults
    private let solveExactly: @Sendable (Int) -> ChannelSolution
    private let solveFast: @Sendable (Int) -> FastConstants?
    private let cache = Locked<[Int: ChannelSolution]>([:])
    private let fastCache = Locked<[Int: FastConstants]>([:])

    init(
        _ solutions: ChannelResults, solveExactly: @escaping @Sendable (Int) -> ChannelSolution,
        solveFast: @escaping @Sendable (Int) -> FastConstants?
    ) {
        self.solutions = solutions
        self.solveExactly = solveExactly
        self.solveFast = solveFast
    }

    /// The fast constants of channel `c`, one that has them (its element path is not
    /// the exact one).
    func fastConstants(_ c: Int) -> FastConstants {
        if let known = fastCache.withLock({ $0[c] }) { return known }
        guard let solved = solveFast(c) ?? exactSolution(c).fast else {
            preconditionFailure("channel \(c) has a fast path but no fast constants")
        }
        fastCache.withLock { $0[c] = solved }
        return solved
    }

    /// A solution of channel `c` that holds its exact terms (and, from the exact path,
    /// its exactly rounded fast constants).
    func exactSolution(_ c: Int) -> ChannelSolution {
        if let whole = solutions.whole[c], whole.terms != nil { return whole }
        if let known = cache.withLock({ $0[c] }) { return known }
        let solved = solveExactly(c)
        cache.withLock { $0[c] = solved }
        return solved
    }
}
