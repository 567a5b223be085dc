/// How a framework weighs the old running statistics against the batch's.
///
/// Both conventions describe the same exponential average with the momentum counted
/// from opposite ends, so one framework's `momentum = 0.1` is the other's `0.9`. They are
/// kept apart rather than converted because `1 - m` is not exact in binary for most `m`
/// below one half (0.1 among them): converting would change the problem, while keeping the
/// framework's own double keeps the engine's results exact for that framework's file.
public enum MomentumConvention: String, Sendable, CaseIterable, Codable {
    /// torch: `new = (1 - m)*running + m*batch` (default m = 0.1).
    case torch
    /// Keras and Flax: `new = m*running + (1 - m)*batch` (default m = 0.99).
    case keras

    /// The exact weights (of the running value, of the batch value) for momentum `m`.
    func weights(_ m: ExactRational) -> (keep: ExactRational, take: ExactRational) {
        switch self {
        case .torch: (.one - m, m)
        case .keras: (m, .one - m)
        }
    }

    /// The same weights in double, for the IEEE rules of non-finite channels.
    func weights(_ m: Double) -> (keep: Double, take: Double) {
        switch self {
        case .torch: (1 - m, m)
        case .keras: (m, 1 - m)
        }
    }
}

/// Which batch variance updates the running variance. Every framework normalises with
/// the biased variance `sum((x - mean)^2)/M`; torch and TensorFlow's fused kernel then
/// store the unbiased `M/(M - 1)` times it, Keras 3 and Flax store the biased one.
public enum RunningVarianceConvention: String, Sendable, CaseIterable, Codable {
    case unbiased
    case biased
}
