/// The statistics one channel is normalised with, exactly: the batch mean and biased
/// variance in training (after which the running statistics are updated), the running
/// statistics themselves in evaluation. The first step of
/// ``ChannelSolution/solveExactly(channel:sums:count:mode:hasDout:parameters:doubleDouble:fastPath:)``.
///
/// A non-finite `x` in training leaves `mean` and the running mean to IEEE summation and
/// the running variance NaN; a non-finite running statistic in evaluation is passed on
/// as it is (see ``ChannelSolution`` for the rules).
struct ExactStatistics {
    var mean: ChannelValue
    /// The mean used, when it is finite.
    var meanExact: ExactRational?
    /// The biased batch variance: in training with finite `x` only.
    var varianceExact: ExactRational?
    var runningMean: ChannelValue
    var runningVar: ChannelValue
    var training: Bool

    init(channel ch: Int, sums: ChannelSums, count m: Int, mode: BatchNormMode, parameters p: ResolvedParameters) {
        let rmD = p.runningMean[ch], rvD = p.runningVar[ch]
        training = mode == .training
        varianceExact = nil
        switch mode {
        case .training where sums.xTally.isFinite:
            let bigM = ExactRational(m)
            let s = sums.x.value
            let mu = s / bigM
            // M^2 var = M Q - S^2: one subtraction of exact integers-over-powers-of-two.
            let v = ((bigM * sums.xx.value - s * s) / (bigM * bigM)).reduced
            (mean, meanExact, varianceExact) = (.exact(ExactExpression(mu)), mu, v)
            (runningMean, runningVar) = ChannelSolution.runningStatistics(
                mean: mu, variance: v, count: m, runningMean: rmD, runningVar: rvD, parameters: p)
        case .training:
            let s = sums.xTally.ieeeSum
            let (keep, take) = p.momentumConvention.weights(p.momentum)
            (mean, meanExact) = (.special(s), nil)
            (runningMean, runningVar) = (.special(keep * rmD + take * s), .special(.nan))
        case .evaluation:
            meanExact = rmD.isFinite ? ExactRational(exactly: rmD) : nil
            mean = meanExact.map { .exact(ExactExpression($0)) } ?? .special(rmD)
            runningMean = mean
            runningVar = rvD.isFinite ? .exact(ExactExpression(ExactRational(exactly: rvD))) : .special(rvD)
        }
    }

    /// `v = var + eps`, the quantity under the square root, when it is finite and
    /// positive; otherwise nil, with `invstd` as IEEE arithmetic gives it (NaN for a
    /// non-finite training channel).
    func underRoot(runningVar rvD: Double, eps: Double) -> (v: ExactRational?, invstd: ChannelValue) {
        var v: ExactRational? = nil
        var invstd = ChannelValue.special(.nan)
        if training {
            if let variance = varianceExact { v = variance + ExactRational(exactly: eps) }
        } else if rvD.isFinite {
            v = ExactRational(exactly: rvD) + ExactRational(exactly: eps)
        } else {
            invstd = .special(1 / (rvD + eps).squareRoot())
        }
        if let positive = v, positive.signum <= 0 {
            invstd = .special(1 / positive.approximateDouble.squareRoot())
            v = nil
        }
        return (v, invstd)
    }
}
