import RealModule

/// The element pass's fallback: elements computed from a channel's exact terms
/// (``ElementTerms``), each rounded once, and the one exact shortcut, `dx` that is
/// exactly zero by cancellation.
enum ExactElements {
    /// Whether `dx` is exactly zero because its two terms cancel: `a == kk*b` with
    /// `a = mA*dout - T` and `b = mB*x - S`. When `kk`, `S` and `T` are doubles and both
    /// differences are exact in double arithmetic, fused multiply-adds decide it
    /// exactly, where the general exact path would take big-integer arithmetic for
    /// every element of a channel whose dout is affine in x (dout = xhat, for one).
    static func cancelsExactly(x: Double, dout: Double, constants f: FastConstants) -> Bool {
        guard let kk = f.coupling, let s = f.xShift.exactDouble, let t = f.doutShift.exactDouble,
            isModerate(kk)
        else { return false }
        /// `scale*value - shift` if both steps are exact in double arithmetic.
        func exactDifference(_ scale: Double, _ value: Double, _ shift: Double) -> Double? {
            let (p, productTail) = Augmented.product(scale, value)
            let (d, sumTail) = Augmented.sum(p, -shift)
            return productTail == 0 && sumTail == 0 && isModerate(d) ? d : nil
        }
        guard let a = exactDifference(f.doutScale, dout, t), let b = exactDifference(f.xScale, x, s) else {
            return false
        }
        // With every magnitude inside [2^-300, 2^300], kk*b - a is a multiple of at least
        // 2^-706 if it is not zero, so the fused multiply-add's single rounding cannot
        // turn a nonzero difference into 0.
        return (-a).addingProduct(kk, b) == 0
    }

    /// Zero, or far enough from both ends of the double range for the checks above.
    @inline(__always)
    static func isModerate(_ v: Double) -> Bool {
        v == 0 || (v.magnitude >= 0x1p-300 && v.magnitude <= 0x1p300)
    }

    /// `out` of an element from the exact terms, rounded once (NaN for a non-finite `x`).
    static func out<Output: BatchNormFloat>(x: Double, terms: ElementTerms) -> Output {
        guard x.isFinite else { return .nan }
        return Output(exactly: terms.out(x: x))
    }

    /// `dx` of an element from the exact terms, rounded once (NaN for a non-finite input).
    static func dx<Output: BatchNormFloat>(x: Double, dout: Double, terms: ElementTerms) -> Output {
        guard x.isFinite, dout.isFinite else { return .nan }
        return Output(exactly: terms.dx(x: x, dout: dout))
    }
}

extension ElementRun {
    /// A run without fast constants: every output NaN by the non-finite rules or
    /// exact; returns how many elements took the exact path.
    func computeExactly<Output: BatchNormFloat>(
        channel: Int, path: ChannelPath, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>,
        dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        let terms = path.hasOut || path.hasDx ? solved.exactSolution(channel).terms : nil
        let outTerms = path.hasOut ? terms : nil
        let dxTerms = path.hasDx ? terms : nil
        for k in 0..<count {
            let xValue = x[k * stride].exactDouble
            out[k * stride] = outTerms.map { ExactElements.out(x: xValue, terms: $0) } ?? .nan
            if let dx {
                dx[k * stride] =
                    dxTerms.map {
                        ExactElements.dx(x: xValue, dout: dout![k * stride].exactDouble, terms: $0)
                    } ?? .nan
            }
        }
        return outTerms == nil ? (dxTerms == nil ? 0 : count) : count
    }

    /// Evaluates the run's elements again and settles the uncertain ones: first by the
    /// same formulas in double-double
    /// arithmetic (``FastFormulas`` over ``DoubleDoubleArithmetic``), which decides
    /// nearly every element that plain doubles left in doubt (a cancellation of 2^-30
    /// between `dx`'s two terms, as two values per channel give, still leaves some 70
    /// bits), then exactly. Returns how many took the exact path.
    ///
    /// Every element is written again, from this evaluation: a certain value here is
    /// proven by its own bound, so nothing depends on this loop and the fast one
    /// evaluating alike. They need not: where a multiply-add may be fused, the
    /// compiler can fuse it in one loop and not in the other, and an element doubted
    /// there could pass here, keeping the doubted value had it not been rewritten.
    func settleDoubts<Formulas: ElementFormulas, Output: BatchNormFloat>(
        formulas: Formulas, constants: FastConstants, channel: Int, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        let wider = FastFormulas<DoubleDoubleArithmetic>(constants)
        // The exact terms are large: fetched (or made) once, and only if an element
        // needs them.
        var exactSolution: ChannelSolution? = nil
        func exact() -> ChannelSolution {
            if let known = exactSolution { return known }
            let made = solved.exactSolution(channel)
            exactSolution = made
            return made
        }
        var exactPaths = 0
        for k in 0..<count {
            let xValue = x[k * stride].exactDouble
            let centred = formulas.centred(xValue)
            var exactly = false
            if let out {
                let (fastValue, fastDoubt) = formulas.out(centred, as: Output.self)
                let (value, doubt) =
                    fastDoubt == 0
                    ? (fastValue, fastDoubt)
                    : wider.out(wider.centred(xValue), as: Output.self)
                if doubt == 0 {
                    out[k * stride] = value
                } else if let terms = exact().terms {
                    out[k * stride] = ExactElements.out(x: xValue, terms: terms)
                    exactly = true
                }
            }
            if let dx, let dout {
                let doutValue = dout[k * stride].exactDouble
                let (fastValue, fastDoubt) = formulas.dx(centred, dout: doutValue, as: Output.self)
                let (value, doubt) =
                    fastDoubt == 0
                    ? (fastValue, fastDoubt)
                    : wider.dx(wider.centred(xValue), dout: doutValue, as: Output.self)
                if doubt == 0 {
                    dx[k * stride] = value
                } else if let terms = exact().terms {
                    // The exact path's constants may know the coupling exactly where
                    // the certified solve only bounded it.
                    let cancels = ExactElements.cancelsExactly(
                        x: xValue, dout: doutValue,
                        constants: exact().fast ?? constants)
                    dx[k * stride] = cancels ? 0 : ExactElements.dx(x: xValue, dout: doutValue, terms: terms)
                    exactly = true
                }
            }
            if exactly { exactPaths += 1 }
        }
        return exactPaths
    }
}
