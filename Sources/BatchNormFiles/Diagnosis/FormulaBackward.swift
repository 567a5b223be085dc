/// The backward pass of `FormulaEvaluator`, and the backward mistakes evaluated on its
/// forward: dx without -dbeta, dx without -xhat*dgamma, and the uncentred dgammas.
/// Widths propagate the interval of a rounded xhat to first order (each product's
/// half-width is |a|*w_b + w_a*|b| + w_a*w_b).
extension FormulaEvaluator {
    /// Per-channel and per-group sums of one pass over the elements.
    struct BackwardSums {
        var dbeta: [CompensatedSum<R>]
        var dgamma: [CompensatedSum<R>]
        var dgammaWidth: [R]
        var g: [CompensatedSum<R>]
        var gXhat: [CompensatedSum<R>]
        var gXhatWidth: [R]
        /// sum dout*x, sum dout*(x - mean) per channel (uncentred dgamma).
        var doutX: [CompensatedSum<R>]
        var doutDeviation: [CompensatedSum<R>]
    }

    /// `uncentred`: also the sums of the uncentred dgammas.
    func sums(_ stats: GroupStatistics<R>, _ xhat: [R], _ half: [R]?, dout: [Double], uncentred: Bool) -> BackwardSums {
        let channels = inputs.channels, groups = inputs.groupCount(variant.grouping)
        let zero = CompensatedSum<R>()
        var sums = BackwardSums(
            dbeta: Array(repeating: zero, count: channels), dgamma: Array(repeating: zero, count: channels),
            dgammaWidth: Array(repeating: 0, count: channels), g: Array(repeating: zero, count: groups),
            gXhat: Array(repeating: zero, count: groups), gXhatWidth: Array(repeating: 0, count: groups),
            doutX: Array(repeating: zero, count: channels), doutDeviation: Array(repeating: zero, count: channels))
        let channelMean =
            variant.grouping == .channel || !uncentred
            ? stats.mean
            : GroupStatistics<R>(inputs, grouping: .channel).mean
        for i in 0..<inputs.count {
            let c = inputs.channel(i), grp = inputs.group(i, variant.grouping)
            let d = R(dout[i]), g = R(inputs.gamma[c]) * d, x = R(inputs.x[i])
            sums.dbeta[c].add(d)
            sums.dgamma[c].add(d * xhat[i])
            sums.g[grp].add(g)
            sums.gXhat[grp].add(g * xhat[i])
            if uncentred {
                sums.doutX[c].add(d * x)
                sums.doutDeviation[c].add(d * (x - channelMean[c]))
            }
            if let half {
                sums.dgammaWidth[c] += abs(d) * half[i]
                sums.gXhatWidth[grp] += abs(g) * half[i]
            }
        }
        return sums
    }

    func backward(
        _ stats: GroupStatistics<R>, _ s: [R], _ xhat: [R], _ half: [R]?,
        into outputs: inout ModelOutputs, mistakes: Bool
    ) {
        guard let dout = inputs.dout else { return }
        let sums = sums(stats, xhat, half, dout: dout, uncentred: mistakes && inputs.training)
        let n = inputs.count
        var dx = [Double](repeating: 0, count: n)
        var width = half != nil || variant.varianceCancellation != nil ? [Double](repeating: 0, count: n) : nil
        let clamped = variant.clampedVariance ?? []
        let cancellation = R(variant.varianceCancellation ?? 0)
        var withoutDbeta = dx, withoutDgamma = dx
        for i in 0..<n {
            let c = inputs.channel(i), grp = inputs.group(i, variant.grouping)
            let g = R(inputs.gamma[c]) * R(dout[i])
            guard inputs.training else {
                dx[i] = Double(g * s[grp])
                continue
            }
            let m = stats.count[grp], k = s[grp] / m
            let s1 = sums.g[grp].value, s2 = sums.gXhat[grp].value
            dx[i] = Double(k * (m * g - s1 - xhat[i] * s2))
            withoutDbeta[i] = Double(k * (m * g - xhat[i] * s2))
            withoutDgamma[i] = Double(k * (m * g - s1))
            if let half {
                let w2 = sums.gXhatWidth[grp]
                width![i] = Double(abs(k) * (half[i] * abs(s2) + abs(xhat[i]) * w2 + half[i] * w2))
            }
            if cancellation > 0 {
                let x = R(inputs.x[i])
                width![i] += Double(s[grp] * s[grp] * abs(s2) * cancellation * (abs(x) + abs(stats.mean[grp])) / m)
                if grp < clamped.count, clamped[grp] { width![i] += Double(abs(k * xhat[i] * s2)) }
            }
        }
        outputs.dx = Prediction(values: dx, width: width)
        outputs.dbeta = Prediction(values: sums.dbeta.map { Double($0.value) })
        outputs.dgamma = Prediction(
            values: sums.dgamma.map { Double($0.value) },
            width: half.map { _ in sums.dgammaWidth.map { Double($0) } })
        guard mistakes, inputs.training else { return }
        outputs.dxWithoutDbeta = Prediction(values: withoutDbeta)
        outputs.dxWithoutDgamma = Prediction(values: withoutDgamma)
        outputs.uncentredDgamma = [
            Prediction(values: (0..<inputs.channels).map { Double(sums.doutX[$0].value * s[$0]) }),
            Prediction(values: sums.doutDeviation.map { Double($0.value) }),
            Prediction(values: sums.doutX.map { Double($0.value) }),
        ]
    }
}
