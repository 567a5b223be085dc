import RealModule

/// The second pass: every element's `out` and `dx`, each rounded once.
///
/// For each element a fast path evaluates the formulas of ``ElementTerms`` in floating
/// point with an error bound (``ChannelBoundFormulas``, fixed per channel, for float16
/// and float32 data; ``FastFormulas``, carried through every operation, otherwise) and
/// keeps the result only if the whole error interval rounds to one value of the output
/// type. Otherwise — a true value within about 2^-50 of a rounding boundary, which
/// happens for ties and exactly representable results, or a channel whose constants are
/// extreme — the element is computed exactly from the rationals. The output is
/// therefore always the correctly rounded value; the fast path only decides how much
/// work that takes.
///
/// Each run of elements is done in a branch-free loop that writes the fast results and
/// ORs together their doubts (so it vectorizes), then, only if a doubt was raised, a
/// fix-up loop that finds the uncertain elements again and computes them exactly.
enum ElementKernel {
    /// Computes `out` (and `dx`) for the elements of the ``Tiles`` units in `units` and
    /// returns how many elements needed the exact path. `out[i]` and `dx[i]` receive
    /// element `firstElement + i`, so a caller can compute a block of the output at a time.
    static func run<X: BatchNormFloat, Output: BatchNormFloat, Arithmetic: KernelArithmetic>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, channels: SolvedChannels,
        plans: [ChannelPlan], units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        arithmetic: Arithmetic.Type, threads: Int
    ) -> Int {
        let tiles = Tiles(shape)
        let firstElement = tiles.firstElement(ofUnit: units.lowerBound)
        let os = SharedPointer(out), dxs = dx.map { SharedPointer($0) }
        // Fewer units than threads (channels last with one row, as BatchNorm1d's (N, C)
        // input becomes): the threads share out the channels of every unit instead.
        let byChannel = units.count < threads && shape.layout == .channelsLast && shape.channels >= threads
        let counts = parallelRanges(count: byChannel ? shape.channels : units.count, threads: threads) { range -> Int in
            var exactPaths = 0
            let stride = shape.spatialStride
            let shifted = byChannel ? units
                : (range.lowerBound + units.lowerBound) ..< (range.upperBound + units.lowerBound)
            let visited = byChannel ? Tiles(shape, channels: range) : tiles
            visited.forEachRun(in: shifted) { c, offset, length in
                let run = Run(x: x + offset, dout: dout.map { $0 + offset }, stride: stride, count: length)
                let o = os.base + (offset - firstElement), d = dxs.map { $0.base + (offset - firstElement) }
                // Unit stride (channels first) gets its own copy of the loops, with the
                // stride a constant, so that they vectorize.
                if stride == 1 {
                    exactPaths += run.withUnitStride.all(plans[c], channels, c, out: o, dx: d, Arithmetic.self)
                } else {
                    exactPaths += run.all(plans[c], channels, c, out: o, dx: d, Arithmetic.self)
                }
            }
            return exactPaths
        }
        return counts.reduce(0, +)
    }

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

        init(_ s: ChannelSolution, fast constants: FastConstants?, wantsDx: Bool, perChannelBound: Bool) {
            hasOut = s.hasOutTerms
            hasDx = wantsDx && s.hasDxTerms
            fast = hasOut || hasDx ? constants : nil
            bound = perChannelBound && s.xFinite && fast.map(ChannelBoundFormulas.applies) == true
                ? fast.map { ChannelBoundFormulas($0) } : nil
        }
    }

    /// One channel's elements within a tile.
    struct Run<X: BatchNormFloat> {
        let x: Elements<X>
        let dout: Elements<X>?
        let stride: Int
        let count: Int

        var withUnitStride: Run { Run(x: x, dout: dout, stride: 1, count: count) }

        @inline(__always)
        func all<Output: BatchNormFloat, A: KernelArithmetic>(
            _ plan: ChannelPlan, _ channels: SolvedChannels, _ c: Int,
            out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?, _: A.Type
        ) -> Int {
            // NaN by the non-finite rules, or every element exact: no fast path to run.
            guard let fast = plan.fast else {
                let solution = plan.hasOut || plan.hasDx ? channels.exactSolution(c) : channels.solutions[c]
                let outTerms = plan.hasOut ? solution.terms : nil
                let dxTerms = plan.hasDx ? solution.terms : nil
                for k in 0 ..< count {
                    let xv = x[k * stride].exactDouble
                    out[k * stride] = outTerms.map { exactOut(xv, $0) } ?? .nan
                    if let dx { dx[k * stride] = dxTerms.map { exactDx(xv, dout![k * stride].exactDouble, $0) } ?? .nan }
                }
                return outTerms == nil ? (dxTerms == nil ? 0 : count) : count
            }
            if !plan.hasOut { for k in 0 ..< count { out[k * stride] = .nan } }
            if let dx, !plan.hasDx { for k in 0 ..< count { dx[k * stride] = .nan } }
            let fastOut = plan.hasOut ? out : nil, fastDx = plan.hasDx ? dx : nil
            if let bound = plan.bound {
                return fastThenExact(bound, channels, c, fast, out: fastOut, dx: fastDx)
            }
            return fastThenExact(FastFormulas<A>(fast), channels, c, fast, out: fastOut, dx: fastDx)
        }

        /// The fast loop, then the exact path for whatever it could not certify; returns
        /// how many elements took the exact path.
        @inline(__always)
        func fastThenExact<F: ElementFormulas, Output: BatchNormFloat>(
            _ formulas: F, _ channels: SolvedChannels, _ c: Int, _ fast: FastConstants,
            out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
        ) -> Int {
            let marks = runFast(formulas, out: out, dx: dx)
            return marks == 0 ? 0 : fixUp(formulas, channels, c, fast, out: out, dx: dx)
        }

        /// Writes the fast results for the outputs given and returns the OR of their doubts
        /// (nonzero if any was uncertain). One loop per combination, with every
        /// pointer unwrapped outside it: the loops must be branch-free to vectorize. They
        /// keep only an OR of the flags, not a flag per element: uncertain elements are so
        /// rare that finding them again costs less than storing every flag.
        @inline(__always)
        func runFast<F: ElementFormulas, Output: BatchNormFloat>(
            _ formulas: F, out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
        ) -> UInt64 {
            var marks: UInt64 = 0
            if let out, let dx, let dout {
                for k in 0 ..< count {
                    let b = formulas.centred(x[k * stride].exactDouble)
                    let (ro, co) = formulas.out(b, as: Output.self)
                    let (rd, cd) = formulas.dx(b, dout: dout[k * stride].exactDouble, as: Output.self)
                    out[k * stride] = ro
                    dx[k * stride] = rd
                    marks |= co | cd
                }
            } else if let out {
                for k in 0 ..< count {
                    let (r, c) = formulas.out(formulas.centred(x[k * stride].exactDouble), as: Output.self)
                    out[k * stride] = r
                    marks |= c
                }
            } else if let dx, let dout {
                for k in 0 ..< count {
                    let b = formulas.centred(x[k * stride].exactDouble)
                    let (r, c) = formulas.dx(b, dout: dout[k * stride].exactDouble, as: Output.self)
                    dx[k * stride] = r
                    marks |= c
                }
            }
            return marks
        }

        /// Finds the uncertain elements again (the formulas are deterministic, so the same
        /// ones) and settles each one: first by the same formulas in double-double
        /// arithmetic (``FastFormulas`` over ``DoubleDoubleArithmetic``), which decides
        /// nearly every element that plain doubles left in doubt (a cancellation of 2^-30
        /// between `dx`'s two terms, as two values per channel give, still leaves some 70
        /// bits), then exactly. Returns how many took the exact path.
        func fixUp<F: ElementFormulas, Output: BatchNormFloat>(
            _ formulas: F, _ channels: SolvedChannels, _ c: Int, _ fast: FastConstants,
            out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
        ) -> Int {
            let wider = FastFormulas<DoubleDoubleArithmetic>(fast)
            // The exact terms are large: fetched (or made) once, and only if an element
            // needs them.
            var exactSolution: ChannelSolution? = nil
            func exact() -> ChannelSolution {
                if let known = exactSolution { return known }
                let solved = channels.exactSolution(c)
                exactSolution = solved
                return solved
            }
            var fixed = 0
            for k in 0 ..< count {
                let xv = x[k * stride].exactDouble
                let b = formulas.centred(xv)
                var exactly = false
                if let out, formulas.out(b, as: Output.self).doubt != 0 {
                    let (value, doubt) = wider.out(wider.centred(xv), as: Output.self)
                    if doubt == 0 {
                        out[k * stride] = value
                    } else if let terms = exact().terms {
                        out[k * stride] = exactOut(xv, terms)
                        exactly = true
                    }
                }
                if let dx, let dout {
                    let dv = dout[k * stride].exactDouble
                    if formulas.dx(b, dout: dv, as: Output.self).doubt != 0 {
                        let (value, doubt) = wider.dx(wider.centred(xv), dout: dv, as: Output.self)
                        if doubt == 0 {
                            dx[k * stride] = value
                        } else if let terms = exact().terms {
                            // The exact path's constants may know the coupling exactly
                            // where the certified solve only bounded it.
                            let cancels = ElementKernel.cancelsExactly(xv, dv, exact().fast ?? fast)
                            dx[k * stride] = cancels ? 0 : exactDx(xv, dv, terms)
                            exactly = true
                        }
                    }
                }
                if exactly { fixed += 1 }
            }
            return fixed
        }
    }

    /// The fast path's formulas for one channel, with their error bounds:
    /// `b = mB*x - S`, `out = beta + g*b`, `dx = g*(mA*dout - T) - k2*b`.
    struct FastFormulas<A: KernelArithmetic>: ElementFormulas {
        let constants: FastConstants
        let xShift: A.Value, xShiftErr: Double
        let doutShift: A.Value, doutShiftErr: Double
        let g: A.Value, gErr: Double, gMag: Double
        let k2: A.Value, k2Err: Double, k2Mag: Double
        let beta: A.Value

        @inline(__always)
        init(_ f: FastConstants) {
            constants = f
            (xShift, xShiftErr) = A.value(f.xShift)
            (doutShift, doutShiftErr) = A.value(f.doutShift)
            (g, gErr) = A.value(f.g)
            (k2, k2Err) = A.value(f.k2)
            gMag = A.magnitude(g)
            k2Mag = A.magnitude(k2)
            beta = A.value(f.beta)
        }

        @inline(__always)
        func centred(_ x: Double) -> (value: A.Value, err: Double) {
            difference(constants.xScale, x, xShift, xShiftErr)
        }

        @inline(__always)
        func out<Output: BatchNormFloat>(_ centred: (value: A.Value, err: Double), as _: Output.Type) -> (Output, doubt: UInt64) {
            let (t, tErr) = product(g, gMag, gErr, centred.value, centred.err)
            let o = A.sum(beta, t)
            let (r, certain) = A.round(o, err: tErr + A.unitRoundoff * A.magnitude(o), as: Output.self)
            return (r, certain ? 0 : 1)
        }

        @inline(__always)
        func dx<Output: BatchNormFloat>(_ centred: (value: A.Value, err: Double), dout: Double,
                                        as _: Output.Type) -> (Output, doubt: UInt64) {
            let (b, bErr) = centred
            let (a, aErr) = difference(constants.doutScale, dout, doutShift, doutShiftErr)
            let (t1, t1Err) = product(g, gMag, gErr, a, aErr)
            let (t2, t2Err) = product(k2, k2Mag, k2Err, b, bErr)
            let d = A.difference(t1, t2)
            let (r, certain) = A.round(d, err: t1Err + t2Err + A.unitRoundoff * A.magnitude(d), as: Output.self)
            return (r, certain ? 0 : 1)
        }

        /// `scale*value - shift` and its error bound: the scaling's error, the shift's,
        /// and one rounding of the difference (zero when the difference is exactly zero,
        /// which an IEEE subtraction only returns when it is exact).
        @inline(__always)
        func difference(_ scale: Double, _ value: Double, _ shift: A.Value, _ shiftErr: Double) -> (A.Value, Double) {
            let (p, pErr) = A.scaled(scale, value)
            let d = A.difference(p, shift)
            return (d, pErr + shiftErr + A.unitRoundoff * A.magnitude(d))
        }

        /// `c*v` for a per-channel constant `c` and a computed `v`, with the propagated
        /// error bound. A product of nonzero numbers that lands below the normal range
        /// may lose up to one subnormal quantum, which a relative bound does not cover;
        /// a product with an exactly zero factor is exact and charged nothing, so exact
        /// zeros (dout = ones) stay on the fast path.
        @inline(__always)
        func product(_ c: A.Value, _ cMag: Double, _ cErr: Double, _ v: A.Value, _ vErr: Double) -> (A.Value, Double) {
            let p = A.product(c, v)
            let pMag = A.magnitude(p), vMag = A.magnitude(v)
            let underflow: Double = (pMag < 0x1p-1000 && cMag != 0 && vMag != 0) ? 0x1p-1074 : 0
            return (p, cMag * vErr + cErr * (vMag + vErr) + A.unitRoundoff * pMag + underflow)
        }
    }

    /// Whether `dx` is exactly zero because its two terms cancel: `a == kk*b` with
    /// `a = mA*dout - T` and `b = mB*x - S`. When `kk`, `S` and `T` are doubles and both
    /// differences are exact in double arithmetic, fused multiply-adds decide it
    /// exactly, where the general exact path would take big-integer arithmetic for
    /// every element of a channel whose dout is affine in x (dout = xhat, for one).
    static func cancelsExactly(_ x: Double, _ dout: Double, _ f: FastConstants) -> Bool {
        guard let kk = f.coupling, let s = f.xShift.exactDouble, let t = f.doutShift.exactDouble,
              isModerate(kk) else { return false }
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

    static func exactOut<Output: BatchNormFloat>(_ x: Double, _ terms: ElementTerms) -> Output {
        guard x.isFinite else { return .nan }
        return Output(exactly: terms.out(x: x))
    }

    static func exactDx<Output: BatchNormFloat>(_ x: Double, _ dout: Double, _ terms: ElementTerms) -> Output {
        guard x.isFinite, dout.isFinite else { return .nan }
        return Output(exactly: terms.dx(x: x, dout: dout))
    }
}
