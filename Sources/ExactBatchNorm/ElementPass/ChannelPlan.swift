/// What the element loops need of one channel. Unlike ``ChannelSolution`` it holds no
/// reference-counted storage, so reading it for every run costs no atomic retain and
/// release; the exact terms are fetched only for the rare elements that need them.
struct ChannelPlan {
    /// The fast path's constants; nil when every element is NaN or exact.
    let fast: FastConstants?
    let hasOut: Bool
    let hasDx: Bool
    /// The per-channel bound, when the data type allows it and every element is
    /// finite (every `dout` is, wherever `dx` is computed); worked out once here
    /// rather than for every run.
    let bound: ChannelBoundFormulas?

    init(_ solution: ChannelSolution, fast constants: FastConstants?, wantsDx: Bool, perChannelBound: Bool) {
        hasOut = solution.hasOutTerms
        hasDx = wantsDx && solution.hasDxTerms
        fast = hasOut || hasDx ? constants : nil
        bound =
            perChannelBound && solution.xFinite && fast.map(ChannelBoundFormulas.applies) == true
            ? fast.map { ChannelBoundFormulas($0) } : nil
    }
}
