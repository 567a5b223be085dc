import ExactBatchNorm

extension ExactBatchNorm {
    /// Typed buffers and the input's parts as arguments, for the tests' convenience.
    static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        parameters: BatchNormParameters, mode: BatchNormMode, output: Output.Type, threads: Int = 2
    ) throws(BatchNormError) -> BatchNormResult<Output> {
        try compute(
            BatchNormInput(x: x, dout: dout, shape: shape, parameters: parameters, mode: mode),
            output: output, threads: threads)
    }
}

/// A small deterministic generator (a 64-bit LCG) for test data that must be the same on
/// every run and machine.
struct TestGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }
    /// Uniform in [0, 1), on 53-bit steps.
    mutating func uniform() -> Double { Double(next()) * 0x1p-53 }
}
