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
        let doubleDouble = Output.binaryFormat.precision > 24
        let (solutions, plans, keptSums) = solveChannels(
            x: x, dout: dout, shape: input.shape.forIteration, mode: input.mode, parameters: resolved,
            doubleDouble: doubleDouble, threads: max(1, threads), paths: paths, perChannelBound: perChannelBound)
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

    /// The channels' solutions and element plans (``ChannelPlans``, with the per-channel
    /// bound where `perChannelBound` says the types allow it), and their sums when there
    /// was one chunk, ``channelChunk`` channels at a time: only one chunk's sums (a few
    /// hundred bytes per channel and thread) exist at once, whatever the channel count.
    /// Should an element later need a channel's exact terms, they are solved again from
    /// the sums kept, or else summed again from the channel's own values
    /// (``solvedChannels(_:keptSums:x:dout:shape:mode:parameters:doubleDouble:)``).
    /// Channels the lanes sum (``EnginePaths/summedInLanes(_:shape:)``) have no exact
    /// sums but those of a channel the lanes left undecided, and keep none.
    static func solveChannels<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        parameters: ResolvedParameters, doubleDouble: Bool, threads: Int, paths: EnginePaths,
        perChannelBound: Bool
    ) -> (solutions: ChannelResults, plans: ChannelPlans, keptSums: [ChannelSums]) {
        let m = shape.valuesPerChannel, hasDout = dout != nil, training = mode == .training
        let count = shape.channels
        var kept: [ChannelSums] = []
        let scale = training ? Double(m) : 1
        let storage = ChannelPlans.Storage(count: count, perChannelBound: perChannelBound)
        let compact = ChannelSlots<CompactSolution>(count: count)
        let into = ChunkOutput(
            solutions: ChannelResults.Writer(compact: compact),
            plans: ChannelPlans.Writer(storage: storage, scale: scale, wantsDx: hasDout))
        var aside = ChunkOutput.Aside()
        if paths.summedInLanes(X.self, shape: shape) {
            aside = solveGroups(0..<count, threads: threads, into: into) { group, body in
                ChannelSolution.solve(
                    group: group, x: x, dout: dout, shape: shape, mode: mode, parameters: parameters,
                    doubleDouble: doubleDouble, body)
            }
            return (
                ChannelResults(compact: compact, whole: aside.solutions),
                ChannelPlans(scale: scale, storage: storage, aside: aside.constants), []
            )
        }
        for start in stride(from: 0, to: count, by: channelChunk) {
            let chunk = start..<min(count, start + channelChunk)
            let sums = ChannelSummation.sums(
                x: x, dout: dout, shape: shape, channels: chunk, training: training, threads: threads)
            aside.merge(
                solveChunk(
                    sums, first: start, count: m, mode: mode, hasDout: hasDout, parameters: parameters,
                    doubleDouble: doubleDouble, threads: threads, paths: paths, into: into))
            if chunk.count == count { kept = sums }
        }
        return (
            ChannelResults(compact: compact, whole: aside.solutions),
            ChannelPlans(scale: scale, storage: storage, aside: aside.constants), kept
        )
    }

    /// `solutions` with the means to solve a channel again on demand, exactly or for its
    /// fast constants: from `keptSums` when they are every channel's, else from the
    /// channel's values, summed again from `x` and `dout`, which must stay valid while
    /// the result is used. Fast constants are solved again the way the first solve made
    /// them with every path on (``EnginePaths/all``), in lanes where the shape takes
    /// them, so that a channel's lane gives the same bits alone as in its group.
    static func solvedChannels<X: BatchNormFloat>(
        _ solutions: ChannelResults, keptSums: [ChannelSums], x: Elements<X>, dout: Elements<X>?,
        shape: BatchNormShape, mode: BatchNormMode, parameters: ResolvedParameters, doubleDouble: Bool
    ) -> SolvedChannels {
        let m = shape.valuesPerChannel, hasDout = dout != nil, training = mode == .training
        let inLanes = EnginePaths.all.summedInLanes(X.self, shape: shape)
        let sumsOf: @Sendable (Int) -> ChannelSums = { c in
            keptSums.isEmpty
                ? ChannelSummation.sums(
                    x: x, dout: dout, shape: shape, channels: c..<c + 1, training: training, threads: 1)[0]
                : keptSums[c]
        }
        return SolvedChannels(
            solutions,
            solveExactly: { c in
                ChannelSolution.solveExactly(
                    channel: c, sums: sumsOf(c), count: m, mode: mode, hasDout: hasDout,
                    parameters: parameters, doubleDouble: doubleDouble)
            },
            solveFast: { c in
                var fast: FastConstants? = nil
                if inLanes {
                    ChannelSolution.solve(
                        group: c..<c + 1, x: x, dout: dout, shape: shape, mode: mode, parameters: parameters,
                        doubleDouble: doubleDouble
                    ) { _, _, constants in fast = constants }
                    return fast
                }
                withUnsafePointer(to: sumsOf(c)) { sums in
                    ChannelSolution.solve(
                        group: c..<c + 1, sums: sums, count: m, mode: mode, hasDout: hasDout,
                        parameters: parameters, doubleDouble: doubleDouble
                    ) { _, _, constants in fast = constants }
                }
                return fast
            })
    }

    /// Where the solve writes each channel's solution and plan: slots that the workers
    /// initialize in place, so that no solution is copied.
    struct ChunkOutput: Sendable {
        let solutions: ChannelResults.Writer
        let plans: ChannelPlans.Writer

        /// What the slots do not hold, by channel: the solutions kept whole and the fast
        /// constants kept aside.
        struct Aside: Sendable {
            var solutions: [Int: ChannelSolution] = [:]
            var constants: [Int: FastConstants] = [:]

            mutating func merge(_ other: Aside) {
                solutions.merge(other.solutions) { first, _ in first }
                constants.merge(other.constants) { first, _ in first }
            }
        }

        /// Writes channel `c`'s slots and adds to `aside` what they do not hold.
        @inline(__always)
        func write(_ c: Int, solution: SolvedChannel, fast: FastConstants?, aside: inout Aside) {
            if let constants = plans.write(c, solution: solution, fast: fast) { aside.constants[c] = constants }
            if let whole = solutions.write(c, solution: solution) { aside.solutions[c] = whole }
        }
    }

    /// Solves one chunk's channels, `first` on, in groups of ``FastChannelSolve/width``
    /// shared among the threads, reading the sums where they lie; returns what the
    /// slots do not hold.
    static func solveChunk(
        _ sums: [ChannelSums], first: Int, count m: Int, mode: BatchNormMode, hasDout: Bool,
        parameters: ResolvedParameters, doubleDouble: Bool, threads: Int, paths: EnginePaths,
        into output: ChunkOutput
    ) -> ChunkOutput.Aside {
        sums.withUnsafeBufferPointer { buffer in
            let base = SharedPointer(buffer.baseAddress!)
            return solveGroups(first..<first + buffer.count, threads: threads, into: output) { group, body in
                ChannelSolution.solve(
                    group: group, sums: base.base + (group.lowerBound - first), count: m, mode: mode,
                    hasDout: hasDout, parameters: parameters, doubleDouble: doubleDouble,
                    fastPath: paths.fastElements, certified: paths.certifiedSolve, body)
            }
        }
    }

    /// Solves `channels` in groups of ``FastChannelSolve/width`` (`solveGroup(group,
    /// body)` hands each channel of `group` to `body`), shared among the threads, four
    /// pieces a thread; writes each channel's slots and returns what they do not hold.
    @inline(__always)
    static func solveGroups(
        _ channels: Range<Int>, threads: Int, into output: ChunkOutput,
        _ solveGroup: @Sendable (Range<Int>, (Int, SolvedChannel, FastConstants?) -> Void) -> Void
    ) -> ChunkOutput.Aside {
        let width = FastChannelSolve.width
        let parts = parallelRanges(
            count: (channels.count + width - 1) / width, threads: threads, piecesPerThread: 4
        ) { groups in
            var aside = ChunkOutput.Aside()
            for group in groups {
                let lower = channels.lowerBound + group * width
                solveGroup(lower..<min(channels.upperBound, lower + width)) { c, solution, fast in
                    output.write(c, solution: solution, fast: fast, aside: &aside)
                }
            }
            return aside
        }
        return parts.reduce(into: ChunkOutput.Aside()) { all, part in all.merge(part) }
    }

    /// Channels per chunk of the first pass.
    static let channelChunk = 8192

    /// A prepared problem bound to its input's buffers (``PreparedBatchNorm/bound(to:)``).
    struct Solved<X: BatchNormFloat, Output: BatchNormFloat> {
        let x: Elements<X>
        let dout: Elements<X>?
        let shape: BatchNormShape
        let channels: SolvedChannels
        let plans: ChannelPlans

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
