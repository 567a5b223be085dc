import ExactBatchNorm

extension ExactBatchNorm {
    /// Typed buffers for the tests' convenience; the library takes raw bytes, so that
    /// memory-mapped, possibly misaligned file data is used in place.
    static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        parameters: BatchNormParameters, mode: BatchNormMode, output: Output.Type, threads: Int = 2
    ) throws(BatchNormError) -> BatchNormResult<Output> {
        try compute(xBytes: UnsafeRawBufferPointer(x), doutBytes: dout.map { UnsafeRawBufferPointer($0) },
                    elementType: X.self, shape: shape, parameters: parameters, mode: mode, output: output,
                    threads: threads)
    }
}
