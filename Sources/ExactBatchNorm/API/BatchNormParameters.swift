/// Training uses the batch statistics and updates the running ones; evaluation uses
/// the running statistics and leaves them unchanged (torch's `module.train()`/`eval()`).
public enum BatchNormMode: Sendable {
    case training
    case evaluation
}

/// The per-channel inputs and hyperparameters, held as exact doubles whatever their
/// stored type (float16 and float32 widen to double without rounding).
public struct BatchNormParameters: Sendable {
    public var gamma: [Double]?
    public var beta: [Double]?
    public var runningMean: [Double]?
    public var runningVar: [Double]?
    /// A double, as in torch: `1e-5` means the double nearest 1e-5, used exactly.
    public var eps: Double
    public var momentum: Double
    /// Which end `momentum` counts from; torch's by default.
    public var momentumConvention: MomentumConvention
    /// The variance stored in the running variance; torch's (unbiased) by default.
    public var runningVariance: RunningVarianceConvention

    public init(
        gamma: [Double]? = nil, beta: [Double]? = nil, runningMean: [Double]? = nil,
        runningVar: [Double]? = nil, eps: Double = 1e-5, momentum: Double = 0.1,
        momentumConvention: MomentumConvention = .torch,
        runningVariance: RunningVarianceConvention = .unbiased
    ) {
        self.momentumConvention = momentumConvention
        self.runningVariance = runningVariance
        self.gamma = gamma
        self.beta = beta
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.eps = eps
        self.momentum = momentum
    }

    /// Checks lengths against the channel count and fills torch's defaults: weight 1,
    /// bias 0, running mean 0, running variance 1.
    func resolved(channels: Int) throws(BatchNormError) -> ResolvedParameters {
        func take(_ values: [Double]?, _ name: String, _ fill: Double) throws(BatchNormError) -> [Double] {
            guard let values else { return Array(repeating: fill, count: channels) }
            guard values.count == channels else {
                throw .lengthMismatch(name: name, expected: channels, found: values.count)
            }
            return values
        }
        guard eps.isFinite else { throw .invalidHyperparameter(name: "eps", value: eps) }
        guard momentum.isFinite else { throw .invalidHyperparameter(name: "momentum", value: momentum) }
        return ResolvedParameters(
            gamma: try take(gamma, "gamma", 1), beta: try take(beta, "beta", 0),
            runningMean: try take(runningMean, "running_mean", 0),
            runningVar: try take(runningVar, "running_var", 1),
            eps: eps, momentum: momentum, momentumConvention: momentumConvention,
            runningVariance: runningVariance)
    }
}

struct ResolvedParameters: Sendable {
    var gamma: [Double]
    var beta: [Double]
    var runningMean: [Double]
    var runningVar: [Double]
    var eps: Double
    var momentum: Double
    var momentumConvention: MomentumConvention
    var runningVariance: RunningVarianceConvention
}

extension ResolvedParameters {
    /// The name of the first parameter whose bits differ from `other`'s, nil when none
    /// does: bits, not values, so that a NaN gamma is the same as itself and -0 is not 0.
    func firstDifference(from other: ResolvedParameters) -> String? {
        func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
        let arrays: [(String, [Double], [Double])] = [
            ("gamma", gamma, other.gamma), ("beta", beta, other.beta),
            ("running_mean", runningMean, other.runningMean), ("running_var", runningVar, other.runningVar),
            ("eps", [eps], [other.eps]), ("momentum", [momentum], [other.momentum]),
        ]
        if let differing = arrays.first(where: { bits($0.1) != bits($0.2) }) { return differing.0 }
        if momentumConvention != other.momentumConvention { return "the momentum convention" }
        if runningVariance != other.runningVariance { return "the running variance convention" }
        return nil
    }
}

extension BatchNormParameters {
    /// Refuses a negative eps as torch does, in both modes: var + eps would be negative
    /// for a constant channel and its square root meaningless. eps = 0 stays allowed
    /// (torch refuses it in training): the exact arithmetic has no use for a guard
    /// against division by zero, and a zero variance with eps = 0 gives an infinite
    /// invstd, as the formulas say.
    func requireValidEps(training: Bool) throws(BatchNormError) {
        if eps < 0 { throw .negativeEps(value: eps, training: training) }
    }
}
