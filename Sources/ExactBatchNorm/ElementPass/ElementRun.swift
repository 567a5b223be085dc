/// One channel's elements within a tile: `count` values of `x` (and `dout`) read with
/// `stride`, and the loops that compute their outputs.
struct ElementRun<X: BatchNormFloat> {
    let x: Elements<X>
    let dout: Elements<X>?
    let stride: Int
    let count: Int

    /// ``compute(channel:plans:solved:out:dx:)`` for a run whose stride is 1, compiled
    /// once with the stride a constant, so that its loops vectorize wherever it is
    /// called from: inlined into a caller, the loops only see a constant stride if the
    /// compiler chooses to inline them there, and for the channels-last tiles it did
    /// not (an element cost four times as much).
    @inline(never)
    func computeContiguous<Output: BatchNormFloat>(
        channel: Int, plans: ChannelPlans, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        ElementRun(x: x, dout: dout, stride: 1, count: count).compute(
            channel: channel, plans: plans, solved: solved, out: out, dx: dx)
    }

    /// ``computeContiguous(channel:plans:solved:out:dx:)`` for `planes` runs of one
    /// channel, each `planeStride` elements after the one before (in the inputs and in
    /// the outputs): a channel's small planes across the batch. The channel's plan is
    /// read, and its constants set up, once for all of them rather than once a plane: on
    /// a 7x7 plane of 49 values, that setup, the call and the last value took about 220
    /// of the plane's 620 instructions (`valgrind --tool=callgrind`).
    @inline(never)
    func computeContiguousPlanes<Output: BatchNormFloat>(
        channel: Int, planes: Int, planeStride: Int, plans: ChannelPlans, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        @inline(__always) func plane(_ p: Int) -> ElementRun {
            ElementRun(x: x + p &* planeStride, dout: dout.map { $0 + p &* planeStride }, stride: 1, count: count)
        }
        let path = plans.path(channel)
        var exactPaths = 0
        guard path.kind == .bound, path.hasOut, path.hasDx == (dx != nil) else {
            for p in 0..<planes {
                exactPaths += plane(p).compute(
                    channel: channel, plans: plans, solved: solved, out: out + p &* planeStride,
                    dx: dx.map { $0 + p &* planeStride })
            }
            return exactPaths
        }
        let formulas = plans.boundFormulas(channel)
        for p in 0..<planes {
            exactPaths += plane(p).computeFast(
                formulas: formulas, constants: nil, channel: channel, solved: solved,
                out: out + p &* planeStride, dx: dx.map { $0 + p &* planeStride })
        }
        return exactPaths
    }

    /// Writes the run's `out` (and `dx`) by the channel's plan and returns how many
    /// elements took the exact path: the fast formulas where the plan has constants (the
    /// per-channel bound where it applies, else the general bound in the output's
    /// precision), NaN where the non-finite rules say so, the exact terms otherwise.
    @inline(__always)
    func compute<Output: BatchNormFloat>(
        channel: Int, plans: ChannelPlans, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        let path = plans.path(channel)
        if path.kind == .exact {
            return computeExactly(channel: channel, path: path, solved: solved, out: out, dx: dx)
        }
        if !path.hasOut { for k in 0..<count { out[k * stride] = .nan } }
        if let dx, !path.hasDx { for k in 0..<count { dx[k * stride] = .nan } }
        let fastOut = path.hasOut ? out : nil, fastDx = path.hasDx ? dx : nil
        if path.kind == .bound {
            return computeFast(
                formulas: plans.boundFormulas(channel), constants: nil, channel: channel, solved: solved,
                out: fastOut, dx: fastDx)
        }
        let constants = plans.constants(channel)
        if Output.binaryFormat.precision <= 24 {
            // Double arithmetic certifies float16 and float32 results.
            return computeFast(
                formulas: FastFormulas<DoubleArithmetic>(constants), constants: constants,
                channel: channel, solved: solved, out: fastOut, dx: fastDx)
        }
        return computeFast(
            formulas: FastFormulas<DoubleDoubleArithmetic>(constants), constants: constants,
            channel: channel, solved: solved, out: fastOut, dx: fastDx)
    }

    /// The fast loop, then whatever it could not certify settled one by one (with the
    /// channel's constants, fetched only then when the plan does not hold them).
    @inline(__always)
    func computeFast<Formulas: ElementFormulas, Output: BatchNormFloat>(
        formulas: Formulas, constants: FastConstants?, channel: Int, solved: SolvedChannels,
        out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
    ) -> Int {
        let doubts = writeFast(formulas: formulas, out: out, dx: dx)
        if doubts == 0 { return 0 }
        return settleDoubts(
            formulas: formulas, constants: constants ?? solved.fastConstants(channel), channel: channel,
            solved: solved, out: out, dx: dx)
    }

    /// Writes the fast results for the outputs given and returns the OR of their doubts
    /// (nonzero if any was uncertain). One loop per combination, with every
    /// pointer unwrapped outside it: the loops must be branch-free to vectorize. They
    /// keep only an OR of the flags, not a flag per element: uncertain elements are so
    /// rare that finding them again costs less than storing every flag.
    @inline(__always)
    func writeFast<Formulas: ElementFormulas, Output: BatchNormFloat>(
        formulas: Formulas, out: UnsafeMutablePointer<Output>?, dx: UnsafeMutablePointer<Output>?
    ) -> UInt64 {
        var doubts: UInt64 = 0
        if let out, let dx, let dout {
            for k in 0..<count {
                let centred = formulas.centred(x[k * stride].exactDouble)
                let (outValue, outDoubt) = formulas.out(centred, as: Output.self)
                let (dxValue, dxDoubt) = formulas.dx(centred, dout: dout[k * stride].exactDouble, as: Output.self)
                out[k * stride] = outValue
                dx[k * stride] = dxValue
                doubts |= outDoubt | dxDoubt
            }
        } else if let out {
            for k in 0..<count {
                let (value, doubt) = formulas.out(formulas.centred(x[k * stride].exactDouble), as: Output.self)
                out[k * stride] = value
                doubts |= doubt
            }
        } else if let dx, let dout {
            for k in 0..<count {
                let centred = formulas.centred(x[k * stride].exactDouble)
                let (value, doubt) = formulas.dx(centred, dout: dout[k * stride].exactDouble, as: Output.self)
                dx[k * stride] = value
                doubts |= doubt
            }
        }
        return doubts
    }
}
