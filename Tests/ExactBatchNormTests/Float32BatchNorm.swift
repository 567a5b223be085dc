import Testing

/// Batch norm written as a framework writes it, in float32 arithmetic (Swift's `Float`,
/// IEEE single precision, every operation rounded), correctly or with one of the bugs the
/// verdict must catch. Sums are pairwise, as numpy's and torch's blocked reductions are.
struct Float32BatchNorm {
    enum Style: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// mean, then the centred variance; out = gamma*xhat + beta.
        case twoPass
        /// torch's and Keras's forward: out = x*alpha + (beta - mean*alpha), alpha = gamma*invstd.
        case alphaBeta
        /// Bug: invstd = 1/(sqrt(var) + eps).
        case epsOutsideSqrt
        /// Bug: dx = k*(M*dout - xhat*dgamma).
        case dxWithoutDbeta
        /// Bug: dgamma = sum dout*x*invstd.
        case uncentredDgamma

        var testDescription: String { rawValue }
    }

    let style: Style

    /// Every output of `problem` by its file key, like `ScaleProblem.exactValues()`.
    func run(_ problem: ScaleProblem) -> KeyedValues {
        let count = problem.x.count
        var values: KeyedValues = ["out": Array(repeating: 0, count: count)]
        if problem.dout != nil { values["dx"] = Array(repeating: 0, count: count) }
        for c in 0..<problem.channels {
            let indices = problem.indices(ofChannel: c)
            let channel = solve(
                problem, channel: c, x: indices.map { Float(problem.x[$0]) },
                dout: problem.dout.map { d in indices.map { Float(d[$0]) } })
            for (k, i) in indices.enumerated() {
                values["out"]![i] = Double(channel.out[k])
                if let dx = channel.dx { values["dx"]![i] = Double(dx[k]) }
            }
            for (key, value) in channel.perChannel { values[key, default: []].append(Double(value)) }
        }
        return values
    }

    private struct Channel {
        var out: [Float]
        var dx: [Float]?
        var perChannel: [String: Float]
    }

    private func solve(_ p: ScaleProblem, channel c: Int, x: [Float], dout: [Float]?) -> Channel {
        let m = Float(x.count), eps = Float(p.eps), momentum = Float(p.momentum)
        let gamma = Float(p.gamma[c]), beta = Float(p.beta[c])
        let runningMean = Float(p.runningMean[c]), runningVar = Float(p.runningVar[c])
        let training = p.mode == .training
        let mean = training ? pairwiseSum(x) / m : runningMean
        let variance = training ? pairwiseSum(x.map { ($0 - mean) * ($0 - mean) }) / m : runningVar
        let invstd = style == .epsOutsideSqrt ? 1 / (variance.squareRoot() + eps) : 1 / (variance + eps).squareRoot()
        let xhat = x.map { ($0 - mean) * invstd }
        let alpha = gamma * invstd
        let out = style == .alphaBeta ? x.map { $0 * alpha + (beta - mean * alpha) } : xhat.map { gamma * $0 + beta }
        var perChannel = ["mean": mean, "invstd": invstd, "running_mean": runningMean, "running_var": runningVar]
        if training {
            let (keep, take) = p.momentumConvention == .torch ? (1 - momentum, momentum) : (momentum, 1 - momentum)
            let stored = p.runningVariance == .unbiased ? variance * m / (m - 1) : variance
            perChannel["running_mean"] = keep * runningMean + take * mean
            perChannel["running_var"] = keep * runningVar + take * stored
        }
        guard let dout else { return Channel(out: out, dx: nil, perChannel: perChannel) }
        let dbeta = pairwiseSum(dout)
        let dgamma =
            style == .uncentredDgamma
            ? pairwiseSum(zip(dout, x).map { $0 * $1 * invstd }) : pairwiseSum(zip(dout, xhat).map { $0 * $1 })
        perChannel["dbeta"] = dbeta
        perChannel["dgamma"] = dgamma
        let dx: [Float]
        if training {
            let k = gamma * invstd / m
            let subtracted = style == .dxWithoutDbeta ? 0 : dbeta
            dx = zip(dout, xhat).map { k * (m * $0 - subtracted - $1 * dgamma) }
        } else {
            dx = dout.map { $0 * gamma * invstd }
        }
        return Channel(out: out, dx: dx, perChannel: perChannel)
    }
}

/// Pairwise summation in float32 over leaves of 8 sequential terms.
func pairwiseSum(_ terms: [Float]) -> Float {
    func sum(_ range: Range<Int>) -> Float {
        if range.count <= 8 { return terms[range].reduce(0, +) }
        let middle = range.lowerBound + range.count / 2
        return sum(range.lowerBound..<middle) + sum(middle..<range.upperBound)
    }
    return sum(terms.indices)
}
