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
        x: UnsafePointer<X>, dout: UnsafePointer<X>?, shape: BatchNormShape,
        solutions: [ChannelSolution], out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        arithmetic: Arithmetic.Type, threads: Int
    ) -> Int {
        let block = BlockSummation.blockSize
        let tilesPerRow = (shape.spatial + block - 1) / block
        let tiles = shape.batch * tilesPerRow
        let xs = SharedPointer(x), ds = dout.map { SharedPointer($0) }
        let os = SharedPointer(out), dxs = dx.map { SharedPointer($0) }
        let counts = parallelRanges(count: tiles, threads: threads) { range -> Int in
            var exactPaths = 0
            let uncertain = UnsafeMutablePointer<Bool>.allocate(capacity: block)
            defer { uncertain.deallocate() }
            for tile in range {
                let n = tile / tilesPerRow
                let l0 = (tile % tilesPerRow) * block
                let length = min(block, shape.spatial - l0)
                for c in 0 ..< shape.channels {
                    let offset = n * shape.batchStride + c * shape.channelStride + l0 * shape.spatialStride
                    // Unit stride (channels first) gets its own copy of the loops, with the
                    // stride a constant, so that they vectorize.
                    let stride = shape.spatialStride
                    let run = Run(x: xs.base + offset, dout: ds.map { $0.base + offset }, stride: stride == 1 ? 1 : stride,
                                  count: length, uncertain: uncertain)
                    if stride == 1 {
                        exactPaths += run.all(solutions[c], out: os.base + offset, dx: dxs.map { $0.base + offset },
                                              Arithmetic.self, unitStride: true)
                    } else {
                        exactPaths += run.all(solutions[c], out: os.base + offset, dx: dxs.map { $0.base + offset },
                                              Arithmetic.self, unitStride: false)
                    }
                }
            }
            return exactPaths
        }
        return counts.reduce(0, +)
    }

    /// One channel's elements within a tile.
    struct Run<X: BatchNormFloat> {
        let x: UnsafePointer<X>
        let dout: UnsafePointer<X>?
        let stride: Int
        let count: Int
        let uncertain: UnsafeMutablePointer<Bool>

        @inline(__always)
        func all<Output: BatchNormFloat, A: KernelArithmetic>(
            _ solution: ChannelSolution, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
            _: A.Type, unitStride: Bool
        ) -> Int {
            let run = unitStride ? Run(x: x, dout: dout, stride: 1, count: count, uncertain: uncertain) : self
            if let dx, let outTerms = solution.outTerms, let dxTerms = solution.dxTerms,
               outTerms.fast != nil, dxTerms.fast != nil {
                return run.both(outTerms, dxTerms, out: out, dx: dx, A.self)
            }
            var fixed = run.outputs(solution.outTerms, into: out, A.self)
            if let dx { fixed += run.gradients(solution.dxTerms, into: dx, A.self) }
            return fixed
        }

        /// `out` and `dx` together, sharing the loads of `x` and the value of `b`: the
        /// common case, and the one the time goes to.
        @inline(__always)
        func both<Output: BatchNormFloat, A: KernelArithmetic>(
            _ outTerms: ElementTerms, _ dxTerms: ElementTerms, out: UnsafeMutablePointer<Output>,
            dx: UnsafeMutablePointer<Output>, _: A.Type
        ) -> Int {
            let dout = self.dout!
            let f = dxTerms.fast!
            let u = A.unitRoundoff
            let (xShift, xShiftErr) = A.value(f.xShift)
            let (dShift, dShiftErr) = A.value(f.doutShift)
            let (g, gErr) = A.value(f.g)
            let (k2, k2Err) = A.value(f.k2)
            let gMag = A.magnitude(g), k2Mag = A.magnitude(k2)
            let beta = A.value(outTerms.fast!.beta)
            for k in 0 ..< count {
                let (b, bErr) = difference(A.self, f.xScale, x[k * stride].exactDouble, xShift, xShiftErr)
                let (t, tErr) = product(A.self, g, gMag, gErr, b, bErr)
                let o = A.sum(beta, t)
                let (ro, certainOut) = A.round(o, err: tErr + u * A.magnitude(o), as: Output.self)
                out[k * stride] = ro
                let (a, aErr) = difference(A.self, f.doutScale, dout[k * stride].exactDouble, dShift, dShiftErr)
                let (t1, t1Err) = product(A.self, g, gMag, gErr, a, aErr)
                let (t2, t2Err) = product(A.self, k2, k2Mag, k2Err, b, bErr)
                let d = A.difference(t1, t2)
                let (rd, certainDx) = A.round(d, err: t1Err + t2Err + u * A.magnitude(d), as: Output.self)
                dx[k * stride] = rd
                uncertain[k] = !(certainOut && certainDx)
            }
            return fixUp { k in
                out[k * stride] = exactOut(x[k * stride].exactDouble, outTerms)
                dx[k * stride] = exactDx(x[k * stride].exactDouble, dout[k * stride].exactDouble, dxTerms)
            }
        }

        /// `out = beta + g*b`, `b = mB*x - S`.
        @inline(__always)
        func outputs<Output: BatchNormFloat, A: KernelArithmetic>(
            _ terms: ElementTerms?, into out: UnsafeMutablePointer<Output>, _: A.Type
        ) -> Int {
            guard let terms else {
                for k in 0 ..< count { out[k * stride] = .nan }
                return 0
            }
            guard let f = terms.fast else {
                for k in 0 ..< count { out[k * stride] = exactOut(x[k * stride].exactDouble, terms) }
                return count
            }
            let u = A.unitRoundoff
            let (shift, shiftErr) = A.value(f.xShift)
            let (g, gErr) = A.value(f.g)
            let gMag = A.magnitude(g)
            let beta = A.value(f.beta)
            for k in 0 ..< count {
                let (b, bErr) = difference(A.self, f.xScale, x[k * stride].exactDouble, shift, shiftErr)
                let (t, tErr) = product(A.self, g, gMag, gErr, b, bErr)
                let o = A.sum(beta, t)
                let (r, certain) = A.round(o, err: tErr + u * A.magnitude(o), as: Output.self)
                out[k * stride] = r
                uncertain[k] = !certain
            }
            return fixUp { k in out[k * stride] = exactOut(x[k * stride].exactDouble, terms) }
        }

        /// `dx = g*a - k2*b`, `a = mA*dout - T`, `b = mB*x - S`.
        @inline(__always)
        func gradients<Output: BatchNormFloat, A: KernelArithmetic>(
            _ terms: ElementTerms?, into dx: UnsafeMutablePointer<Output>, _: A.Type
        ) -> Int {
            let dout = self.dout!
            guard let terms else {
                for k in 0 ..< count { dx[k * stride] = .nan }
                return 0
            }
            guard let f = terms.fast else {
                for k in 0 ..< count {
                    dx[k * stride] = exactDx(x[k * stride].exactDouble, dout[k * stride].exactDouble, terms)
                }
                return count
            }
            let u = A.unitRoundoff
            let (xShift, xShiftErr) = A.value(f.xShift)
            let (dShift, dShiftErr) = A.value(f.doutShift)
            let (g, gErr) = A.value(f.g)
            let (k2, k2Err) = A.value(f.k2)
            let gMag = A.magnitude(g), k2Mag = A.magnitude(k2)
            for k in 0 ..< count {
                let (b, bErr) = difference(A.self, f.xScale, x[k * stride].exactDouble, xShift, xShiftErr)
                let (a, aErr) = difference(A.self, f.doutScale, dout[k * stride].exactDouble, dShift, dShiftErr)
                let (t1, t1Err) = product(A.self, g, gMag, gErr, a, aErr)
                let (t2, t2Err) = product(A.self, k2, k2Mag, k2Err, b, bErr)
                let d = A.difference(t1, t2)
                let (r, certain) = A.round(d, err: t1Err + t2Err + u * A.magnitude(d), as: Output.self)
                dx[k * stride] = r
                uncertain[k] = !certain
            }
            return fixUp { k in
                dx[k * stride] = exactDx(x[k * stride].exactDouble, dout[k * stride].exactDouble, terms)
            }
        }

        /// Recomputes the marked elements exactly; returns how many there were.
        @inline(__always)
        func fixUp(_ exact: (Int) -> Void) -> Int {
            var fixed = 0
            for k in 0 ..< count where uncertain[k] {
                exact(k)
                fixed += 1
            }
            return fixed
        }
    }

    /// `scale*value - shift` and its error bound: the scaling's error, the shift's, and
    /// one rounding of the difference (zero when the difference is exactly zero, which
    /// an IEEE subtraction only returns when it is exact).
    @inline(__always)
    static func difference<A: KernelArithmetic>(_: A.Type, _ scale: Double, _ value: Double,
                                                _ shift: A.Value, _ shiftErr: Double) -> (A.Value, Double) {
        let (p, pErr) = A.scaled(scale, value)
        let d = A.difference(p, shift)
        return (d, pErr + shiftErr + A.unitRoundoff * A.magnitude(d))
    }

    /// `c*v` for a per-channel constant `c` and a computed `v`, with the propagated
    /// error bound. A product of nonzero numbers that lands below the normal range may
    /// lose up to one subnormal quantum, which a relative bound does not cover; a
    /// product with an exactly zero factor is exact and charged nothing, so exact zeros
    /// (dout = ones) stay on the fast path.
    @inline(__always)
    static func product<A: KernelArithmetic>(_: A.Type, _ c: A.Value, _ cMag: Double, _ cErr: Double,
                                             _ v: A.Value, _ vErr: Double) -> (A.Value, Double) {
        let p = A.product(c, v)
        let pMag = A.magnitude(p), vMag = A.magnitude(v)
        let underflow: Double = (pMag < 0x1p-1000 && cMag != 0 && vMag != 0) ? 0x1p-1074 : 0
        return (p, cMag * vErr + cErr * (vMag + vErr) + A.unitRoundoff * pMag + underflow)
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
