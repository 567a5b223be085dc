import RealModule

/// Estimates of a mistake's parameter from the candidate's own values, for the models
/// whose parameter is not known in advance (another eps, another momentum, a factor).
/// An estimate only chooses which model to evaluate; the model is then judged like
/// every other, so a poor estimate costs a match, never a false one.
enum ParameterEstimates {
    /// Per channel, the invstd that best explains the candidate's out by least squares:
    /// out - beta = gamma*(x - mean)*s, so s = sum((out - beta)*gamma*c) / sum((gamma*c)^2)
    /// with c = x - mean (the true mean). nil for a channel with gamma = 0 or no spread.
    static func impliedInvstd<R: BinaryFloatingPoint>(
        out: [Double], inputs: ModelInputs,
        stats: GroupStatistics<R>
    ) -> [Double?] {
        guard out.count == inputs.count else { return Array(repeating: nil, count: inputs.channels) }
        var numerator = [CompensatedSum<R>](repeating: CompensatedSum(), count: inputs.channels)
        var denominator = numerator
        for i in 0..<inputs.count {
            let c = inputs.channel(i)
            let a = R(inputs.gamma[c]) * (R(inputs.x[i]) - stats.mean[c])
            numerator[c].add((R(out[i]) - R(inputs.beta[c])) * a)
            denominator[c].add(a * a)
        }
        return (0..<inputs.channels).map { c in
            let d = denominator[c].value
            guard d > 0 else { return nil }
            let s = Double(numerator[c].value / d)
            return s.isFinite && s > 0 ? s : nil
        }
    }

    /// The median of the finite values, nil when there are none.
    static func median(_ values: [Double?]) -> Double? {
        let finite = values.compactMap { $0 }.filter(\.isFinite).sorted()
        guard !finite.isEmpty else { return nil }
        let n = finite.count
        return n % 2 == 1 ? finite[n / 2] : (finite[n / 2 - 1] + finite[n / 2]) / 2
    }

    /// The eps each channel's implied invstd means, 1/s^2 - var, pooled by the median.
    static func eps<R: BinaryFloatingPoint>(implied: [Double?], stats: GroupStatistics<R>) -> Double? {
        median(implied.enumerated().map { c, s in s.map { 1 / ($0 * $0) - Double(stats.variance[c]) } })
            .flatMap { $0 > 0 ? $0 : nil }
    }

    /// Short decimals d*10^k (d = 1...9) within a factor of 2 of the estimate, nearest
    /// first, without the value already in use: the eps a person types. Each is the
    /// double nearest the decimal (d*10^k or d/10^-k, one correctly rounded operation on
    /// exact integers), as the literal `1e-3` is.
    static func roundNumbers(near estimate: Double, excluding used: Double) -> [Double] {
        guard estimate.isFinite, estimate > 0 else { return [] }
        let k = Int(Double.log10(estimate).rounded(.down))
        var values: [Double] = []
        for exponent in (k - 1)...(k + 1) {
            for d in 1...9 {
                let v =
                    exponent < 0
                    ? Double(d) / Double.pow(10, Double(-exponent)) : Double(d) * Double.pow(10, Double(exponent))
                if v <= 2 * estimate, v >= estimate / 2, v != used { values.append(v) }
            }
        }
        return values.sorted { abs(Double.log($0 / estimate)) < abs(Double.log($1 / estimate)) }
    }

    /// The weight of the batch statistic in the candidate's running update, per channel:
    /// (new - running)/(batch - running), pooled by the median; nil without a channel
    /// whose batch statistic differs from its running one.
    static func batchWeight(candidate: [Double], running: [Double], batch: [Double]) -> Double? {
        guard candidate.count == running.count, batch.count == running.count else { return nil }
        return median(
            running.indices.map { c in
                let spread = batch[c] - running[c]
                return abs(spread) > 1e-6 * max(abs(batch[c]), abs(running[c]))
                    ? (candidate[c] - running[c]) / spread : nil
            })
    }

    /// The integer k in 2...16 nearest to the least-squares ratio of values to truth, if
    /// the ratio is within 0.1 of it.
    static func factor(values: [Double], truth: [Double]) -> Int? {
        guard values.count == truth.count else { return nil }
        var vt = 0.0, tt = 0.0
        for i in values.indices where values[i].isFinite && truth[i].isFinite {
            vt += values[i] * truth[i]
            tt += truth[i] * truth[i]
        }
        guard tt > 0 else { return nil }
        let ratio = vt / tt, k = ratio.rounded()
        return (2...16).contains(k) && abs(ratio - k) < 0.1 ? Int(k) : nil
    }
}
