/// The general fast path: the formulas of ``ElementTerms`` in the precision of
/// `Arithmetic` (double for float16 and float32 outputs, double-double for float64),
/// with an error bound carried through every operation of every element. It needs
/// nothing of the data (any type, any finite values); ``ChannelBoundFormulas`` is the
/// cheaper strategy where a bound fixed per channel holds.
///
/// The formulas: `b = mB*x - S`, `out = beta + g*b`, `dx = g*(mA*dout - T) - k2*b`.
struct FastFormulas<Arithmetic: KernelArithmetic>: ElementFormulas {
    typealias Value = Arithmetic.Value
    /// A computed value and the bound on its distance from the exact one.
    typealias Bounded = (value: Value, err: Double)

    let constants: FastConstants
    let xShift: Bounded
    let doutShift: Bounded
    let g: Bounded, gMagnitude: Double
    let k2: Bounded, k2Magnitude: Double
    let beta: Value

    @inline(__always)
    init(_ constants: FastConstants) {
        self.constants = constants
        xShift = Arithmetic.value(constants.xShift)
        doutShift = Arithmetic.value(constants.doutShift)
        g = Arithmetic.value(constants.g)
        k2 = Arithmetic.value(constants.k2)
        gMagnitude = Arithmetic.magnitude(g.value)
        k2Magnitude = Arithmetic.magnitude(k2.value)
        beta = Arithmetic.value(constants.beta)
    }

    @inline(__always)
    func centred(_ x: Double) -> Bounded {
        difference(scale: constants.xScale, times: x, minus: xShift)
    }

    @inline(__always)
    func out<Output: BatchNormFloat>(_ centred: Bounded, as _: Output.Type) -> (Output, doubt: UInt64) {
        let term = product(constant: g, magnitude: gMagnitude, times: centred)
        let sum = Arithmetic.sum(beta, term.value)
        let err = term.err + Arithmetic.unitRoundoff * Arithmetic.magnitude(sum)
        let (rounded, certain) = Arithmetic.round(sum, err: err, as: Output.self)
        return (rounded, certain ? 0 : 1)
    }

    @inline(__always)
    func dx<Output: BatchNormFloat>(_ centred: Bounded, dout: Double, as _: Output.Type) -> (Output, doubt: UInt64) {
        let a = difference(scale: constants.doutScale, times: dout, minus: doutShift)
        let first = product(constant: g, magnitude: gMagnitude, times: a)
        let second = product(constant: k2, magnitude: k2Magnitude, times: centred)
        let difference = Arithmetic.difference(first.value, second.value)
        let err = first.err + second.err + Arithmetic.unitRoundoff * Arithmetic.magnitude(difference)
        let (rounded, certain) = Arithmetic.round(difference, err: err, as: Output.self)
        return (rounded, certain ? 0 : 1)
    }

    /// `scale*value - shift` and its error bound: the scaling's error, the shift's,
    /// and one rounding of the difference (zero when the difference is exactly zero,
    /// which an IEEE subtraction only returns when it is exact).
    @inline(__always)
    func difference(scale: Double, times value: Double, minus shift: Bounded) -> Bounded {
        let (scaled, scaledErr) = Arithmetic.scaled(scale, value)
        let difference = Arithmetic.difference(scaled, shift.value)
        return (difference, scaledErr + shift.err + Arithmetic.unitRoundoff * Arithmetic.magnitude(difference))
    }

    /// `c*v` for a per-channel constant `c` and a computed `v`, with the propagated
    /// error bound. A product of nonzero numbers that lands below the normal range
    /// may lose up to one subnormal quantum, which a relative bound does not cover;
    /// a product with an exactly zero factor is exact and charged nothing, so exact
    /// zeros (dout = ones) stay on the fast path.
    @inline(__always)
    func product(constant c: Bounded, magnitude cMagnitude: Double, times v: Bounded) -> Bounded {
        let p = Arithmetic.product(c.value, v.value)
        let pMagnitude = Arithmetic.magnitude(p), vMagnitude = Arithmetic.magnitude(v.value)
        let underflow: Double = (pMagnitude < 0x1p-1000 && cMagnitude != 0 && vMagnitude != 0) ? 0x1p-1074 : 0
        let err = cMagnitude * v.err + c.err * (vMagnitude + v.err) + Arithmetic.unitRoundoff * pMagnitude + underflow
        return (p, err)
    }
}
