import ExactBatchNorm

/// What a diagnosis model predicts for one key: per element a value and, for models of
/// rounding behaviour, a half-width (the values between `value - width` and
/// `value + width` are all faithful simulations of the mistake).
struct Prediction: Sendable {
    var values: [Double]
    var width: [Double]? = nil
    /// The error scale to judge against, where the model has its own (an engine run);
    /// nil: the truth's.
    var scale: [Double]? = nil
}

/// out at some elements (`indices`; nil: all of them, in order).
struct OutSample {
    var indices: [Int]?
    var prediction: Prediction
}

/// Everything one formula variant predicts; keys without a prediction are the truth's.
struct ModelOutputs: Sendable {
    var out: Prediction
    var dx: Prediction? = nil
    var dgamma: Prediction? = nil
    var dbeta: Prediction? = nil
    var runningMean: Prediction? = nil
    var runningVar: Prediction? = nil
    /// The statistics used per channel (bnfile's own `mean` and `invstd` keys), where a
    /// channel has one (not for per-sample statistics).
    var mean: Prediction? = nil
    var invstd: Prediction? = nil
    /// Backward mistakes on this forward (channel statistics in training only).
    var dxWithoutDbeta: Prediction? = nil
    var dxWithoutDgamma: Prediction? = nil
    /// sum(dout*x)*invstd, sum(dout*(x - mean)), sum(dout*x).
    var uncentredDgamma: [Prediction] = []
}

/// The mean and biased variance of each group, and the magnitudes xhat's error scale
/// needs, in R with compensated two-pass sums.
struct GroupStatistics<R: BinaryFloatingPoint> {
    var count: [R]
    var mean: [R]
    var variance: [R]
    /// sum|x|/M and sum(|x - mean|*|x|)/M.
    var absX: [R]
    var absDeviationX: [R]

    init(_ inputs: ModelInputs, grouping: StatisticsGrouping) {
        let groups = inputs.groupCount(grouping)
        var sums = [CompensatedSum<R>](repeating: CompensatedSum(), count: groups)
        var counts = [Int](repeating: 0, count: groups)
        for i in 0..<inputs.count {
            let g = inputs.group(i, grouping)
            sums[g].add(R(inputs.x[i]))
            counts[g] += 1
        }
        count = counts.map { R($0) }
        let m = count
        mean = (0..<groups).map { m[$0] > 0 ? sums[$0].value / m[$0] : 0 }
        if !inputs.training {  // evaluation: the running statistics normalise
            mean = inputs.runningMean.map { R($0) }
        }
        var squares = [CompensatedSum<R>](repeating: CompensatedSum(), count: groups)
        var absX = [R](repeating: 0, count: groups), absDeviationX = absX
        for i in 0..<inputs.count {
            let g = inputs.group(i, grouping), x = R(inputs.x[i]), c = x - mean[g]
            squares[g].add(c * c)
            absX[g] += abs(x)
            absDeviationX[g] += abs(c) * abs(x)
        }
        variance =
            inputs.training
            ? (0..<groups).map { m[$0] > 0 ? squares[$0].value / m[$0] : 0 }
            : inputs.runningVar.map { R($0) }
        self.absX = zip(absX, m).map { $1 > 0 ? $0 / $1 : 0 }
        self.absDeviationX = zip(absDeviationX, m).map { $1 > 0 ? $0 / $1 : 0 }
    }
}

/// Evaluates a `FormulaVariant` on the inputs in R, a format far more precise than the
/// candidate's: Double for float16 and float32 candidates (29 or more bits to spare),
/// Float80 for float64 ones (11 bits). Every sum is compensated, so each predicted
/// value errs by a few u_R times its error scale: below 1e-8 of one rounding of a
/// float32 candidate, below 0.01 of one of a float64 candidate. The formulas are the
/// ones the calibration's bugs inject into a two-pass implementation:
///
/// - out = gamma*xhat + beta, xhat = (x - mean_G)*invstd_G over the variant's groups G;
/// - dbeta = sum dout, dgamma = sum dout*xhat over the channel;
/// - dx = invstd_G/M_G * (M_G*g - sum_G g - xhat*sum_G(g*xhat)) with g = gamma*dout:
///   the correct derivative of the variant's forward in its own groups, which for
///   channel groups is gamma*invstd/M*(M*dout - dbeta - xhat*dgamma); in evaluation
///   dx = g*invstd;
/// - running = keep*running + take*batch, with the unbiased batch variance where the
///   settings say so (predicted only where the variant changes the batch statistics).
struct FormulaEvaluator<R: BinaryFloatingPoint> {
    let inputs: ModelInputs
    let variant: FormulaVariant
    /// The statistics of the variant's groups when already known (they are the same for
    /// every variant of channel statistics).
    var statistics: GroupStatistics<R>? = nil

    /// - Parameters:
    ///   - backwardMistakes: also the backward mistakes on this forward.
    ///   - backward: false for out alone (and the running statistics).
    func evaluate(backwardMistakes: Bool = false, backward withBackward: Bool = true) -> ModelOutputs {
        evaluate(backwardMistakes: backwardMistakes, backward: withBackward, refuted: { _ in false })!
    }

    /// nil when `refuted` rejects the forward's out, on a sample of about 4096 elements
    /// first and then on all: the rest is then not computed.
    func evaluate(
        backwardMistakes: Bool = false, backward withBackward: Bool = true,
        refuted: (OutSample) -> Bool
    ) -> ModelOutputs? {
        let stats = statistics ?? GroupStatistics<R>(inputs, grouping: variant.grouping)
        let s = invstd(stats)
        if inputs.count > 8192, refuted(sampledOut(stats, s, stride: inputs.count / 4096)) { return nil }
        let (xhat, half) = normalised(stats, s)
        var outputs = ModelOutputs(out: forward(xhat, half))
        if refuted(OutSample(indices: nil, prediction: outputs.out)) { return nil }
        if variant.grouping != .perSample {
            let group = { (c: Int) in self.variant.grouping == .all ? 0 : c }
            outputs.mean = Prediction(values: (0..<inputs.channels).map { Double(stats.mean[group($0)]) })
            outputs.invstd = Prediction(values: (0..<inputs.channels).map { Double(s[group($0)]) })
        }
        if inputs.training, variant.grouping == .all || isFitted {
            (outputs.runningMean, outputs.runningVar) = running(stats, invstd: s)
        }
        guard inputs.dout != nil, withBackward else { return outputs }
        backward(stats, s, xhat, half, into: &outputs, mistakes: backwardMistakes && variant.grouping == .channel)
        return outputs
    }

    private var isFitted: Bool {
        if case .given = variant.invstd { return true }
        return false
    }

    /// invstd per group, by the variant's rule.
    func invstd(_ stats: GroupStatistics<R>) -> [R] {
        let eps = R(inputs.parameters.eps)
        return stats.variance.indices.map { g in
            let v = stats.variance[g], m = stats.count[g]
            switch variant.invstd {
            case .standard: return 1 / (v + eps).squareRoot()
            case .epsOutsideSqrt: return 1 / (v.squareRoot() + eps)
            case .unbiased: return 1 / ((m > 1 && inputs.training ? v * m / (m - 1) : v) + eps).squareRoot()
            case .eps(let e): return 1 / (v + R(e)).squareRoot()
            case .given(let values): return R(values[g])
            }
        }
    }

    /// xhat of element i, and the half-width of its interval where the variant rounds it
    /// and the candidate's own rounding may land on either side of a midpoint.
    @inline(__always) func xhat(_ i: Int, _ stats: GroupStatistics<R>, _ s: [R]) -> (center: R, half: R) {
        let g = inputs.group(i, variant.grouping)
        let x = R(inputs.x[i]), c = x - stats.mean[g], sg = s[g], v = c * sg
        guard let precision = variant.xhatPrecision else { return (v, 0) }
        let kappa = sg * sg * (2 * stats.absDeviationX[g] + 2 * stats.variance[g] + R(inputs.parameters.eps)) / 2 + 1
        let scale = sg * (abs(x) + stats.absX[g] + abs(stats.mean[g]) + abs(c)) + abs(v) * (kappa + 1)
        let w = Double(R(precision.ambiguity) * scale)
        let low = R(precision.round(Double(v) - w)), high = R(precision.round(Double(v) + w))
        return ((low + high) / 2, (high - low) / 2)
    }

    func normalised(_ stats: GroupStatistics<R>, _ s: [R]) -> (xhat: [R], half: [R]?) {
        var xhat = [R](repeating: 0, count: inputs.count)
        var half: [R]? = variant.xhatPrecision == nil ? nil : [R](repeating: 0, count: inputs.count)
        for i in 0..<inputs.count {
            let (center, width) = self.xhat(i, stats, s)
            xhat[i] = center
            if half != nil { half![i] = width }
        }
        return (xhat, half)
    }

    func forward(_ xhat: [R], _ half: [R]?) -> Prediction {
        var out = [Double](repeating: 0, count: inputs.count)
        var width: [Double]? = half.map { _ in [Double](repeating: 0, count: inputs.count) }
        for i in 0..<inputs.count {
            let c = inputs.channel(i), gamma = R(inputs.gamma[c])
            out[i] = Double(gamma * xhat[i] + R(inputs.beta[c]))
            if let half { width![i] = Double(abs(gamma) * half[i]) }
        }
        return Prediction(values: out, width: width)
    }

    /// out at a sample of the elements (every `stride`-th), from which a model can be
    /// refuted before its full pass: one element beyond rounding refutes it.
    func sampledOut(_ stats: GroupStatistics<R>, _ s: [R], stride step: Int) -> OutSample {
        let indices = Array(stride(from: 0, to: inputs.count, by: step))
        var out: [Double] = [], width: [Double] = []
        for i in indices {
            let (center, half) = xhat(i, stats, s), c = inputs.channel(i), gamma = R(inputs.gamma[c])
            out.append(Double(gamma * center + R(inputs.beta[c])))
            width.append(Double(abs(gamma) * half))
        }
        return OutSample(indices: indices, prediction: Prediction(values: out, width: width))
    }

    /// Running statistics from the variant's batch statistics (for every-axis groups,
    /// the one group's; for a fitted invstd, given as `s`, the variance it implies).
    func running(_ stats: GroupStatistics<R>, invstd s: [R] = []) -> (Prediction, Prediction) {
        let p = inputs.parameters, m = R(p.momentum)
        let (keep, take) = p.momentumConvention == .torch ? (1 - m, m) : (m, 1 - m)
        var means = [Double](), variances = [Double]()
        for c in 0..<inputs.channels {
            let g = variant.grouping == .all ? 0 : c, count = stats.count[g]
            let variance = isFitted ? max(0, 1 / (s[g] * s[g]) - R(p.eps)) : stats.variance[g]
            let unbiased = p.runningVariance == .unbiased && count > 1 ? variance * count / (count - 1) : variance
            means.append(Double(keep * R(inputs.runningMean[c]) + take * stats.mean[g]))
            variances.append(Double(keep * R(inputs.runningVar[c]) + take * unbiased))
        }
        return (Prediction(values: means), Prediction(values: variances))
    }
}
