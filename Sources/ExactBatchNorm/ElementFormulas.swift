/// A fast path's per-channel formulas: each element's `out` and `dx` in floating-point
/// arithmetic, rounded into the output type, with whether that rounding is proven.
///
/// Two implementations: ``FastFormulas`` carries an error bound through every operation
/// and works for any data; ``ChannelBoundFormulas`` uses a bound fixed per channel and
/// needs data of at most 24 significant bits. Either may decline an element (the flag is
/// false), never answer it wrongly; ``ElementKernel`` then computes it exactly.
protocol ElementFormulas {
    /// What `out` and `dx` share: the centred value `mB*x - S`, with whatever the error
    /// accounting needs.
    associatedtype Centred
    func centred(_ x: Double) -> Centred
    func out<Output: BatchNormFloat>(_ b: Centred, as: Output.Type) -> (Output, Bool)
    func dx<Output: BatchNormFloat>(_ b: Centred, dout: Double, as: Output.Type) -> (Output, Bool)
}
