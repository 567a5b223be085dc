import ExactBatchNorm
import Testing

/// Problems a hostile or careless file can pose that have no ordinary answer: empty
/// arrays whose other dimensions are huge, no values per channel in training, and a
/// negative eps. Each is refused before any work, or, when torch has an answer, gives
/// it at once, without loops or allocations over the huge dimensions.
@Suite struct DegenerateProblemTests {
    /// Empty arrays whose nonzero dimensions multiply past 2^63-1 cannot be described.
    @Test(arguments: [[0, 1 << 62, 4], [0, Int.max, 2], [0, 3, 1 << 62, 1 << 62], [1 << 62, 0, 4]])
    func dimensionsThatOverflowAreRefused(dimensions: [Int]) {
        for layout in ChannelLayout.allCases {
            #expect(throws: BatchNormError.tooLarge(dimensions)) {
                try BatchNormShape(dimensions: dimensions, layout: layout)
            }
        }
        #expect(BatchNormError.tooLarge(dimensions).description.contains("2^63-1"))
        #expect(!BatchNormError.tooLarge(dimensions).description.contains("rank"))
    }

    /// An empty x with a huge batch or spatial extent computes nothing per element: in
    /// evaluation the outputs are empty and the few channels get their statistics at
    /// once (a loop over 2^40 rows, or a division by the zero run count, would not end
    /// or would trap). Channels first and last alike.
    @Test(arguments: [[1 << 40, 0, 4], [1 << 40, 4, 0, 4], [1 << 30, 4, 0]])
    func emptyBatchesWithHugeExtentsFinishAtOnce(dimensions: [Int]) throws {
        for layout in ChannelLayout.allCases {
            let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
            #expect(shape.elementCount == 0)
            let empty = [Float]()
            let result = try empty.withUnsafeBufferPointer { xs in
                try ExactBatchNorm.compute(
                    x: xs, dout: xs, shape: shape,
                    parameters: BatchNormParameters(runningMean: nil), mode: .evaluation,
                    output: Float.self)
            }
            #expect(result.out.isEmpty && result.dx!.isEmpty)
            #expect(result.perChannel(.runningMean, as: Float.self)!.count == shape.channels)
            #expect(result.perChannel(.dbeta, as: Float.self)!.allSatisfy { $0 == 0 })
        }
    }

    /// The per-channel work is bounded before it starts: 2^40 channels of an empty
    /// array are refused against a limit, 4 channels are not.
    @Test func perChannelWorkIsBoundedBeforeAnyWork() throws {
        let huge = try BatchNormShape(dimensions: [0, 1 << 40], layout: .channelsFirst)
        #expect(
            throws: BatchNormError.workingMemory(
                channels: 1 << 40, bytes: (1 << 40) * BatchNormShape.workingBytesPerChannel, limit: 1 << 34)
        ) {
            try huge.requireWorkingMemory(atMost: 1 << 34)
        }
        let most = try BatchNormShape(dimensions: [0, Int.max], layout: .channelsFirst)
        #expect(most.perChannelWorkingBytes == nil)
        #expect(throws: BatchNormError.self) { try most.requireWorkingMemory(atMost: Int.max) }
        let small = try BatchNormShape(dimensions: [0, 4], layout: .channelsFirst)
        try small.requireWorkingMemory(atMost: 1 << 20)
        #expect(BatchNormError.workingMemory(channels: 1, bytes: 2, limit: 1).limitExceeded)
    }

    /// An empty x's header alone may name at most 65536 channels of work; a per-channel
    /// input (here running_var), whose values exist, backs any number.
    @Test func channelsNamedOnlyByAnEmptyHeaderAreBounded() throws {
        let many = BatchNormShape.unbackedChannelLimit + 1
        let shape = try BatchNormShape(dimensions: [0, many], layout: .channelsFirst)
        let empty = [Float]()
        func run(_ parameters: BatchNormParameters) throws(BatchNormError) -> BatchNormResult<Float> {
            try empty.withUnsafeBufferPointer { xs throws(BatchNormError) in
                try ExactBatchNorm.compute(
                    x: xs, dout: nil, shape: shape, parameters: parameters, mode: .evaluation,
                    output: Float.self, threads: 1)
            }
        }
        #expect(throws: BatchNormError.unbackedChannels(shape: [0, many], limit: BatchNormShape.unbackedChannelLimit)) {
            try run(BatchNormParameters())
        }
        try BatchNormShape(dimensions: [0, 3], layout: .channelsFirst).requireBackedChannels(BatchNormParameters())
        try shape.requireBackedChannels(BatchNormParameters(runningVar: Array(repeating: 2, count: many)))
        #expect(BatchNormError.unbackedChannels(shape: [0, many], limit: 65536).description.contains("header alone"))
    }

    /// Training on no values has no batch statistics: refused with a message that names
    /// the cause, not torch's "more than 1 value" (which is for exactly one value).
    @Test(arguments: [[0, 3], [0, 3, 5], [4, 3, 0], [0, 2, 1 << 30]])
    func trainingOnNoValuesIsRefused(dimensions: [Int]) throws {
        let shape = try BatchNormShape(dimensions: dimensions, layout: .channelsFirst)
        let empty = [Double]()
        #expect(throws: BatchNormError.noValuesPerChannel(shape: dimensions)) {
            try empty.withUnsafeBufferPointer { xs in
                try ExactBatchNorm.compute(
                    x: xs, dout: nil, shape: shape, parameters: BatchNormParameters(),
                    mode: .training, output: Double.self)
            }
        }
        #expect(BatchNormError.noValuesPerChannel(shape: dimensions).description.contains("no values per channel"))
    }

    /// One value per channel keeps torch's own message.
    @Test func trainingOnOneValueKeepsTorchsMessage() throws {
        let shape = try BatchNormShape(dimensions: [1, 3], layout: .channelsFirst)
        let x: [Float] = [1, 2, 3]
        #expect(throws: BatchNormError.oneValuePerChannel(shape: [1, 3])) {
            try x.withUnsafeBufferPointer { xs in
                try ExactBatchNorm.compute(
                    x: xs, dout: nil, shape: shape, parameters: BatchNormParameters(),
                    mode: .training, output: Float.self)
            }
        }
    }

    /// A negative eps is refused as torch refuses it, in its words, in both modes; eps
    /// = 0 still computes (an exact engine needs no guard against dividing by zero).
    @Test(arguments: [BatchNormMode.training, .evaluation])
    func negativeEpsIsRefused(mode: BatchNormMode) throws {
        let shape = try BatchNormShape(dimensions: [4, 1], layout: .channelsFirst)
        let x: [Float] = [1, 2, 3, 5]
        func run(_ eps: Double) throws(BatchNormError) -> BatchNormResult<Float> {
            try x.withUnsafeBufferPointer { xs throws(BatchNormError) in
                try ExactBatchNorm.compute(
                    x: xs, dout: xs, shape: shape, parameters: BatchNormParameters(eps: eps),
                    mode: mode, output: Float.self)
            }
        }
        #expect(throws: BatchNormError.negativeEps(value: -0.1, training: mode == .training)) { try run(-0.1) }
        let wording = BatchNormError.negativeEps(value: -0.1, training: mode == .training).description
        #expect(
            wording.contains(
                mode == .training
                    ? "must be positive during training, but got -0.1"
                    : "must be non-negative, but got -0.1"))
        let zero = try run(0)
        #expect(zero.out.allSatisfy { $0.isFinite })
    }
}
