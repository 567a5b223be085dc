/// For every output value, the first-order error bound of a backward-stable evaluation,
/// in units of the unit roundoff u: the yardstick `bnfile diff --inputs` measures errors by.
///
/// ## The contract
///
/// A floating-point evaluation of any formula, in any order, commits one relative error
/// of at most u on every quantity it forms, and a backward-stable one (every sensible
/// batch-norm implementation, in any framework) behaves as if each input had been
/// perturbed by a relative u too. To first order, then, a value y errs by at most
///
///     u * sum over every input and intermediate q of |dy/dq| * |q|        (*)
///
/// times a modest count of roundings per term, which the threshold supplies
/// (`RoundingThreshold`). A reduction `sum t_j` counts with `|q| = sum |t_j|`, since its
/// rounding errors are committed on the partial sums, not on the result. `scale` is the
/// sum (*) without the u; `|computed - exact| / (u * scale)` then counts roundings' worth
/// of error, whatever the value's own size: a value that is small because large terms
/// cancel is judged against the terms.
///
/// ## Why every term is needed
///
/// The terms a formula adds last (`|gamma*xhat| + |beta|` for out) are not enough: every
/// implementation rounds the mean at about `u * sum|x| / M` and each deviation `x - mean`
/// at `u * (|x| + |mean|)`, so near the mean (xhat ~ 0) with beta ~ 0 those unavoidable
/// errors exceed a scale made of the result's own terms by orders of magnitude. With
/// x = 1000 + 0.01*N(0,1) in float32 the deviations are quantised at 6e-5 for a spread of
/// 0.01: every float32 implementation errs there by thousands of ulps of out, and (*)
/// says so, through `|gamma|*invstd*(|x| + sum|x|/M)`.
///
/// ## The terms, per channel (training; `c = x - mean`, `s = invstd`, `w = var + eps`)
///
/// Each input and each intermediate is counted once, at one rounding (relative u) of
/// its magnitude; how many roundings a correct evaluation may stack on each is the
/// threshold's business, so counting them here too would count them twice.
///
/// - mean = sum x / M:           S_mean = sum|x|/M + |mean| (the reduction's terms, the
///   result)
/// - var = sum c^2 / M:          S_var = 2*sum(|c|*|x|)/M + 2*var (the inputs, through
///   dvar/dx = 2c/M; the reduction of the squares and the result). The mean's error
///   enters only to second order, since sum c = 0. The inputs' term is what Welford's
///   update makes of its running mean's rounding (measured: 460 roundings of 2*var
///   alone in float64 at |mean|/std = 1e4); E[x^2] - E[x]^2 in working precision errs by
///   u*E[x^2]/var instead, which is the instability the verdict must expose.
/// - w = var + eps:              S_w = S_var + eps
/// - s = 1/sqrt(w):              S_s = s * kappa, kappa = s^2 * S_w / 2 + 1 (ds/dw = -s/(2w),
///   then s's own rounding)
/// - xhat = c*s:                 S_xhat = s*(|x| + S_mean + |c|) + |xhat|*(kappa + 1): x's
///   own magnitude (torch's `x*alpha` form rounds there), the mean's, the deviation's,
///   invstd's, the product's
/// - out = gamma*xhat + beta:    S_out = |gamma|*S_xhat + |gamma*xhat| + |beta|
/// - dbeta = sum dout:           S_dbeta = sum|dout|
/// - dgamma = sum dout*xhat:     S_dgamma = sum |dout|*S_xhat + sum|dout*xhat|
/// - dx = k*(M*dout - dbeta - xhat*dgamma), k = gamma*s/M, with B = M|dout| + |dbeta| +
///   |xhat*dgamma| the bracket's terms:
///                               S_dx = |k|*((kappa + 2)*B + S_dbeta + |dgamma|*S_xhat + |xhat|*S_dgamma)
/// - running = keep*running + take*batch (the convention's weights, `m` the momentum):
///                               S = |keep*running| + |take|*(S_batch + |batch|) + max(|m|, |1-m|)*|batch - running|
///   where the last term is the rounding of the momentum itself (0.1 or 0.99 held in
///   float32), and the unbiased batch variance has S = (S_var + |var|)*M/(M-1).
///
/// In evaluation the running statistics replace mean and var: they are inputs, so
/// S_mean = |running_mean|, S_var = |running_var|, and dx = dout*gamma*s has
/// S_dx = |dout*gamma*s|*(kappa + 2). Running statistics pass through: their scales
/// are their magnitudes.
///
/// ## What it does not promise
///
/// (*) is a first-order bound: it holds while u times the condition is small. A channel
/// whose `|mean|/std` approaches 1/u is not resolved at all by the data's format, and
/// its scales say so by being as large as the values themselves. Summation order enters
/// through the threshold, not here.
///
/// ## In blocks
///
/// The scales of out and dx are not stored: `elements(_:x:dout:)` computes any block of
/// them from x and dout in place, a few multiply-adds per value from per-channel
/// coefficients (`ElementScaleCoefficients`), so judging holds one block of them at a
/// time. A value's scale depends on its own x and dout only, so every block gives the
/// same bits as the whole array would.
public struct ErrorScales: Sendable {
    public let perChannel: [ChannelQuantity: [Double]]
    /// Per channel: how well the data's format can resolve it.
    public let conditioning: [ChannelConditioning]
    let coefficients: [ElementScaleCoefficients]
    let shape: BatchNormShape
    let elementType: ScaledElementType
    let hasDout: Bool

    /// The scales of a problem whose x and dout are the raw native-endian, C-order bytes of
    /// `X` at any alignment (a memory-mapped array is read in place), from its exact
    /// per-channel results `channels`, rounded to double (a scale needs no more accuracy
    /// than that). Two passes over the elements, each cut among `threads` by channel.
    public init<X: BatchNormFloat>(
        x: UnsafeRawBufferPointer, dout: UnsafeRawBufferPointer?, elementType _: X.Type, shape: BatchNormShape,
        parameters: BatchNormParameters, mode: BatchNormMode, channels: BatchNormChannels, threads: Int = 1
    ) throws(BatchNormError) {
        let count = shape.elementCount, size = MemoryLayout<X>.stride
        guard x.count == count * size else { throw .lengthMismatch(name: "x", expected: count, found: x.count / size) }
        if let dout, dout.count != count * size {
            throw .lengthMismatch(name: "dout", expected: count, found: dout.count / size)
        }
        let p = try parameters.resolved(channels: shape.channels)
        let statistics = ChannelStatistics.all(channels: channels, parameters: p, mode: mode, shape: shape)
        let placeholder = UnsafeRawPointer(bitPattern: 64)!  // for empty buffers; never read
        let (sums, coefficients, largestOut) = Self.elementPasses(
            x: Elements<X>(x.baseAddress ?? placeholder), dout: dout.map { Elements<X>($0.baseAddress ?? placeholder) },
            shape: shape, mode: mode, statistics: statistics, threads: max(1, threads))
        self.coefficients = coefficients
        self.shape = shape
        elementType = ScaledElementType(X.self)
        hasDout = dout != nil
        perChannel = Self.channelScales(sums.map(\.statistics), sums, hasDout: dout != nil, mode: mode, parameters: p)
        conditioning = zip(sums.map(\.statistics), largestOut).map { statistics, outScale in
            ChannelConditioning(statistics: statistics, outScale: outScale)
        }
    }

    /// The same from typed buffers and a whole result.
    public init<X: BatchNormFloat, Output: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        parameters: BatchNormParameters, mode: BatchNormMode, result: BatchNormResult<Output>
    ) throws(BatchNormError) {
        try self.init(
            x: UnsafeRawBufferPointer(x), dout: dout.map { UnsafeRawBufferPointer($0) }, elementType: X.self,
            shape: shape, parameters: parameters, mode: mode, channels: result.channels)
    }

    /// The scales of `output`'s values, block by block, from the same x and dout (as raw
    /// bytes of the same type) this was made with; they must stay valid while the
    /// result is used. nil for dx without dout.
    public func elements(_ output: ScaledOutput, x: UnsafeRawPointer, dout: UnsafeRawPointer?) -> ElementScales? {
        guard output == .out || (hasDout && dout != nil) else { return nil }
        return ElementScales(
            output: output, x: x, dout: dout, type: elementType, shape: shape,
            coefficients: coefficients)
    }

    /// The passes over the elements, channel by channel: the sums, then each channel's
    /// largest scale of out. Specialized for every stored type, so the loops run on the
    /// values themselves rather than through a protocol's witness for each element.
    @_specialize(where X == Float)
    @_specialize(where X == Double)
    @_specialize(where X == Float16)
    @_specialize(where X == BFloat16)
    static func elementPasses<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        statistics: [ChannelStatistics], threads: Int
    ) -> (sums: [ScaleSums], coefficients: [ElementScaleCoefficients], largestOut: [Double]) {
        let channels = ScaleSums.all(
            x: x, dout: dout, shape: shape, mode: mode, statistics: statistics,
            threads: threads)
        return (channels.map(\.sums), channels.map(\.coefficients), channels.map(\.largestOut))
    }

    private static func channelScales(
        _ statistics: [ChannelStatistics], _ sums: [ScaleSums], hasDout: Bool, mode: BatchNormMode,
        parameters p: ResolvedParameters
    ) -> [ChannelQuantity: [Double]] {
        var scales: [ChannelQuantity: [Double]] = [:]
        scales[.mean] = statistics.map(\.meanScale)
        scales[.invstd] = statistics.map { $0.invstd.magnitude * $0.kappa }
        if hasDout {
            scales[.dbeta] = sums.map(\.absDout)
            scales[.dgamma] = sums.map(\.dgammaScale)
        }
        let indices = statistics.indices
        guard mode == .training else {
            scales[.runningMean] = p.runningMean.map(\.magnitude)
            scales[.runningVar] = p.runningVar.map(\.magnitude)
            return scales
        }
        let (keep, take) = p.momentumConvention.weights(p.momentum)
        let momentum = max(p.momentum.magnitude, (1 - p.momentum).magnitude)
        func update(_ running: Double, batch: Double, batchScale: Double) -> Double {
            (keep * running).magnitude + take.magnitude * (batchScale + batch.magnitude)
                + momentum * (batch - running).magnitude
        }
        scales[.runningMean] = indices.map { c in
            update(p.runningMean[c], batch: statistics[c].mean, batchScale: statistics[c].meanScale)
        }
        scales[.runningVar] = indices.map { c in
            let m = statistics[c].count
            let unbiased = p.runningVariance == .unbiased && m > 1
            let factor = unbiased ? m / (m - 1) : 1
            let variance = statistics[c].variance * factor
            // The unbiased correction is one more product; the biased variance is S_var's own.
            let correction = unbiased ? variance.magnitude : 0
            return update(
                p.runningVar[c], batch: variance,
                batchScale: statistics[c].varianceScale(sums[c]) * factor + correction)
        }
        return scales
    }
}

/// How far the data's format resolves one channel: `|mean|/std` (how much of each value's
/// bits the deviations keep) and the largest scale of out, whose u-multiple is the
/// accuracy a correct implementation in that format can promise for out there.
public struct ChannelConditioning: Sendable, Equatable {
    /// |mean|/std of the statistics used (the running ones in evaluation); infinite for a
    /// constant channel with a nonzero mean.
    public let meanOverStd: Double
    /// The largest scale of out in the channel.
    public let outScale: Double

    init(statistics: ChannelStatistics, outScale: Double) {
        let std = statistics.variance.magnitude.squareRoot()
        meanOverStd = statistics.mean == 0 ? 0 : statistics.mean.magnitude / std
        self.outScale = outScale
    }
}

/// The statistics a channel's scales are built from, in double.
struct ChannelStatistics: Sendable {
    var count: Double
    var mean: Double
    /// The biased batch variance in training (set once the sums are known), the running
    /// variance in evaluation.
    var variance: Double
    var invstd: Double
    var eps: Double
    var gamma: Double
    var beta: Double
    /// The exact gradients' magnitudes (0 without dout): the bracket of dx holds them.
    var dbeta: Double
    var dgamma: Double
    /// S_mean: sum|x|/M + |mean| in training (set once the sums are known), |mean| in
    /// evaluation, where the mean is an input.
    var meanScale: Double
    /// S_s / s, the relative scale of invstd; see `ErrorScales`.
    var kappa = 0.0
    var training: Bool

    static func all(
        channels: BatchNormChannels, parameters p: ResolvedParameters,
        mode: BatchNormMode, shape: BatchNormShape
    ) -> [ChannelStatistics] {
        let mean = channels.perChannel(.mean, as: Double.self)!
        let invstd = channels.perChannel(.invstd, as: Double.self)!
        let m = Double(shape.valuesPerChannel)
        let dbeta = channels.perChannel(.dbeta, as: Double.self)
        let dgamma = channels.perChannel(.dgamma, as: Double.self)
        return (0..<shape.channels).map { c in
            let variance = mode == .training ? 0 : p.runningVar[c]
            return ChannelStatistics(
                count: m, mean: mean[c], variance: variance, invstd: invstd[c], eps: p.eps,
                gamma: p.gamma[c], beta: p.beta[c],
                dbeta: dbeta?[c].magnitude ?? 0, dgamma: dgamma?[c].magnitude ?? 0,
                meanScale: mean[c].magnitude,
                training: mode == .training)
        }
    }

    /// S_var: the inputs' terms, the reduction of the squares and its result in
    /// training; the running variance's magnitude in evaluation.
    func varianceScale(_ sums: ScaleSums) -> Double {
        training ? 2 * sums.absDeviationTimesX / count + 2 * variance.magnitude : variance.magnitude
    }

    /// Completes `meanScale`, the training variance and `kappa` from the channel's sums.
    /// The variance comes from the deviations, not from `1/invstd^2 - eps`: that difference
    /// loses the variance wherever it is below about 1e-16 of eps (a constant channel, or
    /// data of size 1e-30), and the conditioning shown beside a verdict needs it.
    mutating func complete(with sums: ScaleSums) {
        if training {
            meanScale = sums.absX / count + mean.magnitude
            variance = sums.squaredDeviation / count
        }
        let w = variance + eps
        let scaleW = varianceScale(sums) + eps.magnitude
        kappa = w > 0 ? invstd * invstd * scaleW / 2 + 1 : 1
    }
}
