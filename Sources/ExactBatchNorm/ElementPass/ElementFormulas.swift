/// A fast path's per-channel formulas: each element's `out` and `dx` in floating-point
/// arithmetic, rounded into the output type, with a doubt that is zero exactly when that
/// rounding is proven. (A word rather than a Bool, so that a vectorized loop can OR the
/// doubts of many elements without turning each into a flag.)
///
/// Two implementations: ``FastFormulas`` carries an error bound through every operation
/// and works for any data; ``ChannelBoundFormulas`` uses a bound fixed per channel and
/// needs finite data of at most 24 significant bits. Either may decline an element (a
/// nonzero doubt), never answer it wrongly; ``ElementKernel`` then computes it exactly.
protocol ElementFormulas {
    /// What `out` and `dx` share: the centred value `mB*x - S`, with whatever the error
    /// accounting needs.
    associatedtype Centred
    func centred(_ x: Double) -> Centred
    func out<Output: BatchNormFloat>(_ b: Centred, as: Output.Type) -> (Output, doubt: UInt64)
    func dx<Output: BatchNormFloat>(_ b: Centred, dout: Double, as: Output.Type) -> (Output, doubt: UInt64)
}
