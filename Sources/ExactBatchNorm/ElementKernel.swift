import RealModule

/// The second pass: every element's `out` and `dx`, each rounded once.
///
/// For each element the fast path evaluates the formulas of ``ElementTerms`` in
/// `Arithmetic` with a running error bound and keeps the result only if the whole
/// error interval rounds to one value of the output type. Otherwise — a true value
/// within about 2^-50 of a rounding boundary, which happens for ties and exactly
/// representable results, or a channel whose constants are extreme — the element is
/// computed exactly from the rationals. The output is therefore always the correctly
/// rounded value; the fast path only decides how much work that takes.
///
/// Each run of elements is done in two loops: a branch-free one that writes the fast
/// results and marks the uncertain ones (so it vectorizes), then a rare fix-up.
enum ElementKernel {
    /// Computes `out` (and `dx`) for the elements of `x` and returns how many elements
    /// needed the exact path.
    static func run<X: BatchNormFloat, Output: BatchNormFloat, Arithmetic: KernelArithmetic>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape,
        solutions: [ChannelSolution], out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        arithmetic: Arithmetic.Type, threads: Int
    ) -> Int {
        let tiles = Tiles(shape)
        let plans = solutions.map { ChannelPlan($0, wantsDx: dx != nil) }
        let os = SharedPointer(out), dxs = dx.map { SharedPointer($0) }
        let counts = parallelRanges(count: tiles.count, threads: threads) { range -> Int in
            var exactPaths = 0
            let uncertain = UnsafeMutablePointer<UInt8>.allocate(capacity: BlockSummation.blockSize)
            defer { uncertain.deallocate() }
            let stride = shape.spatialStride
            tiles.forEachRun(in: range) { c, offset, length in
                let run = Run(x: x + offset, dout: dout.map { $0 + offset }, stride: stride,
                              count: length, uncertain: uncertain)
                let o = os.base + offset, d = dxs.map { $0.base + offset }
                // Unit stride (channels first) gets its own copy of the loops, with the
                // stride a constant, so that they vectorize.
                if stride == 1 {
                    exactPaths += run.withUnitStride.all(plans[c], solutions, c, out: o, dx: d, Arithmetic.self)
                } else {
                    exactPaths += run.all(plans[c], solutions, c, out: o, dx: d, Arithmetic.self)
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

        init(_ s: ChannelSolution, wantsDx: Bool) {
            hasOut = s.outTerms != nil
            hasDx = wantsDx && s.dxTerms != nil
            fast = s.outTerms?.fast ?? (hasDx ? s.dxTerms?.fast : nil)
        }
    }

    /// One channel's elements within a tile.
    struct Run<X: BatchNormFloat> {
        let x: Elements<X>
        let dout: Elements<X>?
        let stride: Int
        let count: Int
        /// Per element: bit 0 set if `out` is uncertain, bit 1 if `dx` is.
        let uncertain: UnsafeMutablePointer<UInt8>

        var withUnitStride: Run { Run(x: x, dout: dout, stride: 1, count: count, uncertain: uncertain) }

        @inline(__always)
        func all<Output: BatchNormFloat, A: KernelArithmetic>(
            _ plan: ChannelPlan, _ solutions: [ChannelSolution], _ c: Int,
            out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?, _: A.Type
        ) -> Int {
            // NaN by the non-finite rules, or every element exact: no fast path to run.
            guard let fast = plan.fast else {
                let outTerms = solutions[c].outTerms
                let dxTerms = dx == nil ? nil : solutions[c].dxTerms
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
            if ChannelBoundFormulas.applies(data: X.self, output: Output.self) {
                runFast(ChannelBoundFormulas(fast), out: fastOut, dx: fastDx)
            } else {
                runFast(FastFormulas<A>(fast), out: fastOut, dx: fastDx)
            }
            return fixUp(solutions, c, fast, out: out, dx: fastDx)
        }

        /// Writes the fast results for the outputs given and marks the uncertain ones.
        /// One loop per combination, with every pointer unwrapped outside it: the loops
        /// must be branch-free to vectorize. The formulas themselves are shared.
        @inline(__always)
        func runFast<F: ElementFormulas, Output: BatchNormFloat>(
            _ formulas: F, out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
        ) {
            if let out, let dx, let dout {
                for k in 0 ..< count {
                    let b = formulas.centred(x[k * stride].exactDouble)
                    let (ro, co) = formulas.out(b, as: Output.self)
                    let (rd, cd) = formulas.dx(b, dout: dout[k * stride].exactDouble, as: Output.self)
                    out[k * stride] = ro
                    dx[k * stride] = rd
                    uncertain[k] = (co ? 0 : 1) | (cd ? 0 : 2)
                }
            } else if let out {
                for k in 0 ..< count {
                    let (r, c) = formulas.out(formulas.centred(x[k * stride].exactDouble), as: Output.self)
                    out[k * stride] = r
                    uncertain[k] = c ? 0 : 1
                }
            } else if let dx, let dout {
                for k in 0 ..< count {
                    let b = formulas.centred(x[k * stride].exactDouble)
                    let (r, c) = formulas.dx(b, dout: dout[k * stride].exactDouble, as: Output.self)
                    dx[k * stride] = r
                    uncertain[k] = c ? 0 : 2
                }
            }
        }

        /// Computes the marked elements exactly and returns how many there were.
        @inline(__always)
        func fixUp<Output: BatchNormFloat>(_ solutions: [ChannelSolution], _ c: Int, _ fast: FastConstants,
                                          out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?) -> Int {
            // The exact terms are large: fetch them only when an element needs them, and
            // keep them out of the scanning loop.
            guard var k = firstUncertain(from: 0) else { return 0 }
            let outTerms = solutions[c].outTerms, dxTerms = solutions[c].dxTerms
            var fixed = 0
            repeat {
                let xv = x[k * stride].exactDouble
                if uncertain[k] & 1 != 0, let outTerms { out[k * stride] = exactOut(xv, outTerms) }
                if uncertain[k] & 2 != 0, let dx, let dxTerms {
                    let dv = dout![k * stride].exactDouble
                    dx[k * stride] = ElementKernel.cancelsExactly(xv, dv, fast) ? 0 : exactDx(xv, dv, dxTerms)
                }
                fixed += 1
                guard let next = firstUncertain(from: k + 1) else { break }
                k = next
            } while true
            return fixed
        }

        /// The first marked element at or after `start`. Marks are rare: eight flags are
        /// skipped at a time.
        @inline(__always)
        func firstUncertain(from start: Int) -> Int? {
            var k = start
            while k < count {
                if k + 8 <= count, UnsafeRawPointer(uncertain + k).loadUnaligned(as: UInt64.self) == 0 {
                    k += 8
                } else if uncertain[k] != 0 {
                    return k
                } else {
                    k += 1
                }
            }
            return nil
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
        func out<Output: BatchNormFloat>(_ centred: (value: A.Value, err: Double), as _: Output.Type) -> (Output, Bool) {
            let (t, tErr) = product(g, gMag, gErr, centred.value, centred.err)
            let o = A.sum(beta, t)
            return A.round(o, err: tErr + A.unitRoundoff * A.magnitude(o), as: Output.self)
        }

        @inline(__always)
        func dx<Output: BatchNormFloat>(_ centred: (value: A.Value, err: Double), dout: Double,
                                        as _: Output.Type) -> (Output, Bool) {
            let (b, bErr) = centred
            let (a, aErr) = difference(constants.doutScale, dout, doutShift, doutShiftErr)
            let (t1, t1Err) = product(g, gMag, gErr, a, aErr)
            let (t2, t2Err) = product(k2, k2Mag, k2Err, b, bErr)
            let d = A.difference(t1, t2)
            return A.round(d, err: t1Err + t2Err + A.unitRoundoff * A.magnitude(d), as: Output.self)
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
