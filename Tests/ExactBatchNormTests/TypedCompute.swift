@testable import ExactBatchNorm

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

    /// Computes `x` (and `dout`) into new arrays through the buffer entry point with a
    /// choice of paths: `out`, `dx` (nil without `dout`) and the per-channel results.
    static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        x: [X], dout: [X]?, shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode,
        output _: Output.Type, paths: EnginePaths, threads: Int = 2
    ) throws -> (out: [Output], dx: [Output]?, channels: BatchNormChannels) {
        var out = [Output](repeating: 0, count: x.count)
        var dx = dout.map { _ in [Output](repeating: 0, count: x.count) }
        let channels = try x.withUnsafeBufferPointer { xs in
            try withOptionalBuffer(dout) { ds in
                try out.withUnsafeMutableBufferPointer { o in
                    try withOptionalMutableBuffer(&dx) { d in
                        try compute(
                            BatchNormInput(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode),
                            out: o, dx: d, threads: threads, paths: paths)
                    }
                }
            }
        }
        return (out, dx, channels)
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

extension BatchNormChannels {
    /// Every per-channel result rounded into float16, float32 and float64, as encodings,
    /// quantity by quantity in ``ChannelQuantity``'s order (empty for the gradients
    /// without dout): equal bits mean the same results.
    var encodings: [[UInt64]] {
        ChannelQuantity.allCases.flatMap { q in
            [
                perChannel(q, as: Float16.self)?.map(\.encoding) ?? [],
                perChannel(q, as: Float.self)?.map(\.encoding) ?? [],
                perChannel(q, as: Double.self)?.map(\.encoding) ?? [],
            ]
        }
    }
}

/// Calls `body` with a buffer of `values`, or nil when there are none.
func withOptionalBuffer<T, R>(_ values: [T]?, _ body: (UnsafeBufferPointer<T>?) throws -> R) rethrows -> R {
    guard let values else { return try body(nil) }
    return try values.withUnsafeBufferPointer { try body($0) }
}

/// Calls `body` with a mutable buffer of `values`, or nil when there are none.
func withOptionalMutableBuffer<T, R>(_ values: inout [T]?, _ body: (UnsafeMutableBufferPointer<T>?) throws -> R)
    rethrows -> R
{
    guard values != nil else { return try body(nil) }
    return try values!.withUnsafeMutableBufferPointer { try body($0) }
}
