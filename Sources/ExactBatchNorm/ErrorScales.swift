/// For every output value, the sum of the magnitudes of the terms it is made of.
///
/// A floating-point evaluation of a sum of terms `t1 + t2 + ...` by any reasonable
/// algorithm errs by at most a modest multiple of `u * (|t1| + |t2| + ...)`, where `u`
/// is the unit roundoff; it cannot promise less, because cancellation between large
/// terms is exactly where rounding shows. So `|computed - true| / (u * scale)` says how
/// many roundings' worth of error a value carries, independently of its own size: a
/// result that is tiny because its terms cancel is judged against the terms, and a
/// result that is tiny because everything is tiny is judged against that.
///
/// The terms are those of torch's formulas with the batch statistics taken as given
/// (the statistics are sums of non-negative or well-scaled terms and carry their own
/// scales): `out = gamma*xhat + beta`, `dbeta = sum dout`, `dgamma = sum dout*xhat`,
/// `dx = gamma*invstd/M * (M*dout - dbeta - xhat*dgamma)` with the sums replaced by sums
/// of magnitudes, `mean = sum x / M`, and the running-statistics updates.
public struct ErrorScales: Sendable {
    public let out: [Double]
    public let dx: [Double]?
    public let perChannel: [ChannelQuantity: [Double]]

    /// `result` may have any output type: the scales use only its exact per-channel
    /// statistics, rounded to double.
    public init<X: BatchNormFloat, Output: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        parameters: BatchNormParameters, mode: BatchNormMode, result: BatchNormResult<Output>
    ) throws(BatchNormError) {
        let p = try parameters.resolved(channels: shape.channels)
        let channels = shape.channels
        let m = Double(shape.valuesPerChannel)
        let mean = result.perChannel(.mean, as: Double.self)!
        let invstd = result.perChannel(.invstd, as: Double.self)!
        var absX = [Double](repeating: 0, count: channels)
        var absDout = [Double](repeating: 0, count: channels)
        var absDoutXhat = [Double](repeating: 0, count: channels)
        var out = [Double](repeating: 0, count: x.count)
        // One pass for out's scales and the channel sums of magnitudes.
        Self.forEachElement(shape) { index, c in
            let xv = x[index].exactDouble
            let xhat = (xv - mean[c]) * invstd[c]
            out[index] = (p.gamma[c] * xhat).magnitude + p.beta[c].magnitude
            absX[c] += xv.magnitude
            if let dout {
                let dv = dout[index].exactDouble
                absDout[c] += dv.magnitude
                absDoutXhat[c] += (dv * xhat).magnitude
            }
        }
        self.out = out
        var dxScales: [Double]? = nil
        if let dout {
            var dx = [Double](repeating: 0, count: x.count)
            Self.forEachElement(shape) { index, c in
                let dv = dout[index].exactDouble
                if mode == .evaluation {
                    dx[index] = (dv * p.gamma[c] * invstd[c]).magnitude
                } else {
                    let xhat = ((x[index].exactDouble - mean[c]) * invstd[c]).magnitude
                    dx[index] = (p.gamma[c] * invstd[c] / m).magnitude
                        * (m * dv.magnitude + absDout[c] + xhat * absDoutXhat[c])
                }
            }
            dxScales = dx
        }
        self.dx = dxScales
        var channelScales: [ChannelQuantity: [Double]] = [:]
        channelScales[.mean] = mode == .training ? absX.map { $0 / m } : p.runningMean.map(\.magnitude)
        channelScales[.invstd] = invstd.map(\.magnitude)
        if dout != nil {
            channelScales[.dbeta] = absDout
            channelScales[.dgamma] = absDoutXhat
        }
        let momentum = p.momentum
        if mode == .training {
            let unbiased = result.perChannel(.runningVar, as: Double.self)!.indices.map { c -> Double in
                // var * M/(M-1) from the exact invstd and eps: a scale needs no more accuracy.
                let variance = 1 / (invstd[c] * invstd[c]) - p.eps
                return variance.magnitude * m / (m - 1)
            }
            channelScales[.runningMean] = (0 ..< channels).map {
                ((1 - momentum) * p.runningMean[$0]).magnitude + (momentum * mean[$0]).magnitude
            }
            channelScales[.runningVar] = (0 ..< channels).map {
                ((1 - momentum) * p.runningVar[$0]).magnitude + (momentum * unbiased[$0]).magnitude
            }
        } else {
            channelScales[.runningMean] = p.runningMean.map(\.magnitude)
            channelScales[.runningVar] = p.runningVar.map(\.magnitude)
        }
        perChannel = channelScales
    }

    /// Visits every element with its flat index and channel, in memory order.
    private static func forEachElement(_ shape: BatchNormShape, _ body: (Int, Int) -> Void) {
        guard shape.elementCount > 0 else { return }  // the other dimensions may be huge
        for n in 0 ..< shape.batch {
            for c in 0 ..< shape.channels {
                let base = n * shape.batchStride + c * shape.channelStride
                for l in 0 ..< shape.spatial { body(base + l * shape.spatialStride, c) }
            }
        }
    }
}
