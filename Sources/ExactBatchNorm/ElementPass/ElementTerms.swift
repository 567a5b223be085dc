/// Everything one channel's elements need, exactly and approximately.
///
/// With `b = mB*x - S` and `a = mA*dout - T`, every element's outputs are
///
///     out = beta + (F * b) * sqrt(C)
///     dx  = (F * (a - kk * b)) * sqrt(C)
///
/// where, in training, `mB = mA = M`, `S = sum x`, `T = sum dout`, `C = 1/(var + eps)`,
/// `F = gamma/M` and `kk = D/(M (var + eps))` with `D = sum dout*(x - mean)`; this is
/// torch's `dx = gamma*invstd/M * (M*dout - dbeta - xhat*dgamma)` with the factor
/// `xhat*dgamma = (x - mean) D/(var + eps)` recognised as rational. In evaluation
/// `mB = mA = 1`, `S = running_mean`, `T = 0`, `F = gamma`, `kk = 0`.
/// Scaling `x` by the integer `M` instead of dividing the sum keeps `b` exact in the
/// fast path: for float16/float32 data, `M*x` is an exact double.
///
/// A class, so that a channel's solution holds one reference rather than sixteen big
/// integers in place (most channels never need these terms at all).
final class ElementTerms: Sendable {
    let xScale: ExactRational
    let xShift: ExactRational
    let doutScale: ExactRational
    let doutShift: ExactRational
    let factor: ExactRational
    let coupling: ExactRational
    let c: ExactRational
    let beta: ExactRational

    init(
        xScale: ExactRational, xShift: ExactRational, doutScale: ExactRational, doutShift: ExactRational,
        factor: ExactRational, coupling: ExactRational, c: ExactRational, beta: ExactRational
    ) {
        (self.xScale, self.xShift, self.doutScale, self.doutShift) = (xScale, xShift, doutScale, doutShift)
        (self.factor, self.coupling, self.c, self.beta) = (factor, coupling, c, beta)
    }

    func out(x: Double) -> ExactExpression {
        let b = xScale * ExactRational(exactly: x) - xShift
        return ExactExpression(beta, plus: factor * b, timesSqrtOf: c)
    }

    func dx(x: Double, dout: Double) -> ExactExpression {
        let b = xScale * ExactRational(exactly: x) - xShift
        let a = doutScale * ExactRational(exactly: dout) - doutShift
        return ExactExpression(.zero, plus: factor * (a - coupling * b), timesSqrtOf: c)
    }
}
