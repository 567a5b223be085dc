import BatchNormFiles
import Foundation
import NumPyFormat

/// A small batch-norm problem, shape (N, C, L), and an independent, plain float32
/// implementation of the training step with one mistake of the catalogue injected: the
/// oracle the diagnosis's unit tests name mistakes against. Written apart from the
/// library (loops over (n, c, l), no shared code), as the calibration's numpy bugs are.
struct HandMadeBatchNorm {
    let n: Int, c: Int, l: Int
    var x: [Float], dout: [Float], gamma: [Float], beta: [Float], runningMean: [Float], runningVar: [Float]
    let eps: Float = 1e-5, momentum: Float = 0.1

    /// x = offset + spread*noise, from a fixed linear congruential sequence.
    init(n: Int = 4, c: Int = 3, l: Int = 5, offset: Float = 0.5, spread: Float = 1, seed: UInt64 = 7) {
        (self.n, self.c, self.l) = (n, c, l)
        var state = seed
        func noise() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        x = (0..<n * c * l).map { _ in offset + spread * noise() }
        dout = (0..<n * c * l).map { _ in noise() }
        gamma = (0..<c).map { _ in 1 + 0.2 * noise() }
        beta = (0..<c).map { _ in 0.1 * noise() }
        runningMean = (0..<c).map { _ in 0.1 * noise() }
        runningVar = (0..<c).map { _ in 1 + 0.5 * noise() }
    }

    func index(_ i: Int, _ ch: Int, _ j: Int) -> Int { (i * c + ch) * l + j }
    var m: Float { Float(n * l) }

    /// Writes the inputs (torch's default settings) to `path`.
    func writeInputs(_ path: String) throws {
        let writer = try NPZWriter(path: path)
        for (name, values, shape) in [
            ("x", x, [n, c, l]), ("dout", dout, [n, c, l]), ("gamma", gamma, [c]),
            ("beta", beta, [c]), ("running_mean", runningMean, [c]),
            ("running_var", runningVar, [c]),
        ] {
            try values.withUnsafeBufferPointer { try writer.add(name, elements: $0, shape: shape) }
        }
        try writer.finish()
    }

    /// Writes `results` (out, dx: (N, C, L); the rest per channel).
    func write(_ results: [String: [Float]], to path: String) throws {
        let writer = try NPZWriter(path: path)
        for key in results.keys.sorted() {
            let shape = results[key]!.count == c ? [c] : [n, c, l]
            try results[key]!.withUnsafeBufferPointer { try writer.add(key, elements: $0, shape: shape) }
        }
        try writer.finish()
    }
}
