import Synchronization

/// Every channel's solution, and on first demand the exact element terms of a channel
/// that the certified solve (``FastChannelSolve``) made without them.
///
/// The element kernel asks for exact terms only for elements its fast path cannot
/// certify, which on typical data is a handful per million; keeping them out of every
/// channel's solution saves each channel its big integers. A channel's exact solution,
/// once made, is kept for the rest of the computation (blocks of streamed output
/// included), so no channel is solved exactly twice.
final class SolvedChannels: Sendable {
    let solutions: [ChannelSolution]
    private let solveExactly: @Sendable (Int) -> ChannelSolution
    private let cache = Mutex<[Int: ChannelSolution]>([:])

    init(_ solutions: [ChannelSolution], solveExactly: @escaping @Sendable (Int) -> ChannelSolution) {
        self.solutions = solutions
        self.solveExactly = solveExactly
    }

    /// A solution of channel `c` that holds its exact terms (and, from the exact path,
    /// its exactly rounded fast constants).
    func exactSolution(_ c: Int) -> ChannelSolution {
        if solutions[c].terms != nil { return solutions[c] }
        if let known = cache.withLock({ $0[c] }) { return known }
        let solved = solveExactly(c)
        cache.withLock { $0[c] = solved }
        return solved
    }
}
