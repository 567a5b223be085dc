/// The per-channel constants of the fast path (see ``ElementTerms``).
struct FastConstants: Sendable {
    var xScale: Double
    var xShift: Approximation
    var doutScale: Double
    var doutShift: Approximation
    /// `F * sqrt(C)`.
    var g: Approximation
    /// `F * kk * sqrt(C)`.
    var k2: Approximation
    /// `kk` when it is exactly a double: then `dx` is exactly zero wherever
    /// `mA*dout - T == kk*(mB*x - S)`, which the fast path can check exactly (see
    /// ``ElementKernel``). That happens whenever dout is an affine function of x in a
    /// channel, as for the loss 0.5*||out||^2.
    var coupling: Double?
    var beta: Double

    /// A placeholder for a channel that has none.
    static let zero = FastConstants(
        xScale: 0, xShift: .zero, doutScale: 0, doutShift: .zero, g: .zero, k2: .zero, coupling: nil, beta: 0)
}
