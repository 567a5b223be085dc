/// The engine's steps before the element outputs: the input checked, the first pass
/// (exact sums) and the per-channel algebra, leaving a ``PreparedBatchNorm`` that holds
/// no pointer into the input; bound to the input's buffers it is a
/// ``ExactBatchNorm/Solved`` problem whose element pass can then run in any blocks of
/// units.
extension ExactBatchNorm {
    /// Checks `input` against the shape and the rules of the mode, sums, and solves
    /// every channel, for outputs in `Output`.
    static func prepare<X: BatchNormFloat, Output: BatchNormFloat>(
        _ input: BatchNormInput, data _: X.Type, output _: Output.Type, threads: Int, paths: EnginePaths
    ) throws(BatchNormError) -> PreparedBatchNorm {
        try validate(input, elementSize: MemoryLayout<X>.stride)
        let resolved = try input.parameters.resolved(channels: input.shape.channels)
        let (x, dout) = elements(of: input, as: X.self)
        let perChannelBound = ChannelBoundFormulas.applies(data: X.self, output: Output.self)
        let wantsDx = dout != nil
        let doubleDouble = Output.binaryFormat.precision > 24
        let (solutions, plans, keptSums) = solveChannels(
            x: x, dout: dout, shape: input.shape.forIteration, mode: input.mode, parameters: resolved,
            doubleDouble: doubleDouble, threads: max(1, threads), paths: paths
        ) { ChannelPlan($0, fast: $1, wantsDx: wantsDx, perChannelBound: perChannelBound) }
        return PreparedBatchNorm(
            problem: PreparedBatchNorm.Problem(input, output: Output.elementType, parameters: resolved),
            solutions: solutions, plans: plans, keptSums: keptSums, doubleDouble: doubleDouble)
    }

    /// `x` and `dout` of `input` as elements of `X`.
    static func elements<X: BatchNormFloat>(of input: BatchNormInput, as _: X.Type) -> (Elements<X>, Elements<X>?) {
        let placeholder = UnsafeRawPointer(bitPattern: 64)!  // for empty buffers; never read
        return (
            Elements<X>(input.x.baseAddress ?? placeholder),
            input.dout.map { Elements<X>($0.baseAddress ?? placeholder) }
        )
    }

    /// The checks before any work: buffer lengths, values per channel, eps, and the
    /// channels an empty input may claim.
    static func validate(_ input: BatchNormInput, elementSize size: Int) throws(BatchNormError) {
        let shape = input.shape, count = shape.elementCount
        guard input.x.count == count * size else {
            throw .lengthMismatch(name: "x", expected: count, found: input.x.count / size)
        }
        if let dout = input.dout, dout.count != count * size {
            throw .lengthMismatch(name: "dout", expected: count, found: dout.count / size)
        }
        let training = input.mode == .training
        if training && shape.valuesPerChannel == 0 {
            throw .noValuesPerChannel(shape: shape.dimensions)
        }
        // Only the unbiased running variance divides by M - 1; torch refuses M = 1
        // whatever it tracks, Keras and Flax (biased) compute var = 0.
        if training && shape.valuesPerChannel == 1 && input.parameters.runningVariance == .unbiased {
            throw .oneValuePerChannel(shape: shape.dimensions)
        }
        try input.parameters.requireValidEps(training: training)
        try shape.requireBackedChannels(input.parameters)
    }

    /// The channels' solutions and element plans (made by `plan`), and their sums when
    /// there was one chunk, ``channelChunk`` channels at a time: only one chunk's sums (a
    /// few hundred bytes per channel and thread) exist at once, whatever the channel
    /// count. Should an element later need a channel's exact terms, they are solved again
    /// from the sums kept, or else summed again from the channel's own values
    /// (``solvedChannels(_:keptSums:x:dout:shape:mode:parameters:doubleDouble:)``).
    static func solveChannels<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        parameters: ResolvedParameters, doubleDouble: Bool, threads: Int, paths: EnginePaths,
        plan: (ChannelSolution, FastConstants?) -> ChannelPlan
    ) -> (solutions: [ChannelSolution], plans: [ChannelPlan], keptSums: [ChannelSums]) {
        let m = shape.valuesPerChannel, hasDout = dout != nil, training = mode == .training
        let count = shape.channels
        var solutions: [ChannelSolution] = [], plans: [ChannelPlan] = []
        solutions.reserveCapacity(count)
        plans.reserveCapacity(count)
        var kept: [ChannelSums] = []
        for start in stride(from: 0, to: count, by: channelChunk) {
            let chunk = start..<min(count, start + channelChunk)
            let sums = ChannelSummation.sums(
                x: x, dout: dout, shape: shape, channels: chunk, training: training,
                threads: threads)
            let solved = parallelRanges(count: chunk.count, threads: threads) { range in
                range.map {
                    ChannelSolution.solve(
                        channel: start + $0, sums: sums[$0], count: m, mode: mode, hasDout: hasDout,
                        parameters: parameters, doubleDouble: doubleDouble,
                        fastPath: paths.fastElements, certified: paths.certifiedSolve)
                }
            }
            // The plan keeps the fast constants; the solution, kept for the per-channel
            // results, holds none.
            for part in solved {
                for (solution, fast) in part {
                    plans.append(plan(solution, fast))
                    solutions.append(solution)
                }
            }
            if chunk.count == count { kept = sums }
        }
        return (solutions, plans, kept)
    }

    /// `solutions` with the means to solve a channel exactly on demand: from `keptSums`
    /// when they are every channel's, else from the channel's values, summed again from
    /// `x` and `dout`, which must stay valid while the result is used.
    static func solvedChannels<X: BatchNormFloat>(
        _ solutions: [ChannelSolution], keptSums: [ChannelSums], x: Elements<X>, dout: Elements<X>?,
        shape: BatchNormShape, mode: BatchNormMode, parameters: ResolvedParameters, doubleDouble: Bool
    ) -> SolvedChannels {
        let m = shape.valuesPerChannel, hasDout = dout != nil, training = mode == .training
        return SolvedChannels(solutions) { c in
            let sums =
                keptSums.isEmpty
                ? ChannelSummation.sums(
                    x: x, dout: dout, shape: shape, channels: c..<c + 1, training: training,
                    threads: 1)[0]
                : keptSums[c]
            return ChannelSolution.solveExactly(
                channel: c, sums: sums, count: m, mode: mode, hasDout: hasDout,
                parameters: parameters, doubleDouble: doubleDouble)
        }
    }

    /// Channels per chunk of the first pass.
    static let channelChunk = 8192

    /// A prepared problem bound to its input's buffers (``PreparedBatchNorm/bound(to:)``).
    struct Solved<X: BatchNormFloat, Output: BatchNormFloat> {
        let x: Elements<X>
        let dout: Elements<X>?
        let shape: BatchNormShape
        let channels: SolvedChannels
        let plans: [ChannelPlan]

        /// The second pass over `units`, into `out` and `dx` from their first element
        /// (``ElementKernel``); returns how many elements took the exact path.
        func runKernel(
            units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
            threads: Int
        ) -> Int {
            ElementKernel<X, Output>(x: x, dout: dout, shape: shape, solved: channels, plans: plans)
                .run(units: units, out: out, dx: dx, threads: threads)
        }
    }
}
