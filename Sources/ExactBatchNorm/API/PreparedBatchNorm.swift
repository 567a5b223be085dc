/// A problem after the engine's first pass and its per-channel algebra, before any
/// element output: what ``ExactBatchNorm/prepare(_:output:threads:)`` returns and
/// ``ExactBatchNorm/compute(_:prepared:output:blockBytes:threads:deliver:)`` finishes.
///
/// It gives the per-channel results (``channels``) before the first element is
/// computed, which is what a caller needs whose work on every element depends on them:
/// `bnfile diff` measures each element's error against a scale built from the exact
/// statistics, and so judges the element pass's blocks as they come instead of running
/// the engine once for the statistics and again for the blocks.
///
/// It holds no pointer into the input: every channel's solution and element plan, and
/// the exact sums when they were kept, from which a channel whose exact terms an
/// element needs is solved again. The element pass takes the input again and reads its
/// buffers only while it runs; a channel solved exactly then is kept for that pass only.
public struct PreparedBatchNorm: Sendable {
    /// What the element pass checks its input against.
    let problem: Problem
    let solutions: ChannelResults
    let plans: ChannelPlans
    /// Every channel's exact sums when the first pass had them all at once (at most
    /// ``ExactBatchNorm/channelChunk`` channels); else empty, and a channel's sums are
    /// made again from its values.
    let keptSums: [ChannelSums]
    /// Whether the per-channel constants are solved for outputs wider than float32.
    let doubleDouble: Bool

    /// The element type of the outputs the problem was prepared for.
    public var outputType: BatchNormElementType { problem.output }

    /// The per-channel results, exactly as a whole computation returns them, except that
    /// ``BatchNormChannels/exactPathCount`` is 0: no element has been computed yet. The
    /// element pass returns these results again with its count.
    public var channels: BatchNormChannels { channels(exactPathCount: 0) }

    func channels(exactPathCount: Int) -> BatchNormChannels {
        BatchNormChannels(channels: solutions, hasGradients: problem.hasDout, exactPathCount: exactPathCount)
    }

    /// Bound to `input`'s buffers, which must be those of the prepared problem (unchecked:
    /// see ``checkedBinding(to:data:output:)``), and valid while the result is used.
    func bound<X: BatchNormFloat, Output: BatchNormFloat>(to input: BatchNormInput) -> ExactBatchNorm.Solved<X, Output>
    {
        let (x, dout) = ExactBatchNorm.elements(of: input, as: X.self)
        let shape = input.shape.forIteration
        let channels = ExactBatchNorm.solvedChannels(
            solutions, keptSums: keptSums, x: x, dout: dout, shape: shape, mode: problem.mode,
            parameters: problem.parameters, doubleDouble: doubleDouble)
        return ExactBatchNorm.Solved(x: x, dout: dout, shape: shape, channels: channels, plans: plans)
    }

    /// ``bound(to:)`` after checking that `input` is the prepared problem, as far as
    /// that can be checked without reading its values: the element type, shape, layout,
    /// mode, whether there is `dout`, every parameter bit for bit, the output type (`X`
    /// and `Output` are the element types named), then the buffers' lengths.
    func checkedBinding<X: BatchNormFloat, Output: BatchNormFloat>(
        to input: BatchNormInput, data _: X.Type, output _: Output.Type
    ) throws(BatchNormError) -> ExactBatchNorm.Solved<X, Output> {
        try problem.requireSame(as: input, output: Output.elementType)
        try ExactBatchNorm.validate(input, elementSize: MemoryLayout<X>.stride)
        return bound(to: input)
    }
}

extension PreparedBatchNorm {
    /// The prepared problem, but for the values of `x` and `dout`: those an element pass
    /// could only compare by reading them all, which is the cost it exists to save.
    struct Problem: Sendable {
        let elementType: BatchNormElementType
        let output: BatchNormElementType
        let shape: BatchNormShape
        let mode: BatchNormMode
        let hasDout: Bool
        /// With torch's defaults filled in, so that an omitted gamma and a gamma of ones
        /// are the same problem.
        let parameters: ResolvedParameters

        init(_ input: BatchNormInput, output: BatchNormElementType, parameters: ResolvedParameters) {
            elementType = input.elementType
            self.output = output
            shape = input.shape
            mode = input.mode
            hasDout = input.dout != nil
            self.parameters = parameters
        }

        /// Throws ``BatchNormError/notThePreparedProblem(_:)`` naming the first part of
        /// `input` (with outputs in `output`) that differs from this problem.
        func requireSame(as input: BatchNormInput, output: BatchNormElementType) throws(BatchNormError) {
            func differs(_ what: String, _ given: Any, _ prepared: Any) -> BatchNormError {
                .notThePreparedProblem("\(what) is \(given), prepared for \(prepared)")
            }
            if input.elementType != elementType { throw differs("x's element type", input.elementType, elementType) }
            if output != self.output { throw differs("the output type", output, self.output) }
            if input.shape.dimensions != shape.dimensions {
                throw differs("x's shape", input.shape.dimensions, shape.dimensions)
            }
            if input.shape.layout != shape.layout {
                throw differs("the layout", input.shape.layout.rawValue, shape.layout.rawValue)
            }
            if input.mode != mode { throw differs("the mode", input.mode, mode) }
            if (input.dout != nil) != hasDout {
                throw .notThePreparedProblem(
                    hasDout ? "dout is missing, prepared with it" : "dout is given, prepared without it")
            }
            let given = try input.parameters.resolved(channels: shape.channels)
            if let name = given.firstDifference(from: parameters) {
                throw .notThePreparedProblem("\(name) differs from the one prepared for")
            }
        }
    }
}
