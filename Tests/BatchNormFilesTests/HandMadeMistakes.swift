import BatchNormFiles
import Testing

/// The mistakes, as the hand-made implementation injects them.
struct InjectedMistake: Sendable, CustomTestStringConvertible {
    var name: Mistake?
    var label: String
    var epsOutsideSqrt = false, unbiased = false, eps: Float? = nil
    var perSample = false, allAxes = false
    var dropDbeta = false, dropDgamma = false, uncentred = false
    var factor: Float = 1
    var float16Xhat = false, bfloat16Xhat = false
    var unstableVariance = false
    var evalStatistics = false
    var kerasMomentum = false, momentum: Float? = nil, biasedRunningVariance = false
    /// The data that shows it: small spread for eps's mistakes, offset for E[x^2]-E[x]^2.
    var offset: Float = 0.5, spread: Float = 1

    var testDescription: String { label }

    static let none = InjectedMistake(name: nil, label: "no mistake")

    static let all: [InjectedMistake] = [
        InjectedMistake(name: .epsOutsideSqrt, label: "eps outside sqrt", epsOutsideSqrt: true, spread: 0.01),
        InjectedMistake(name: .unbiasedVariance, label: "unbiased variance", unbiased: true),
        InjectedMistake(name: .wrongEps, label: "eps 1e-3", eps: 1e-3),
        InjectedMistake(name: .wrongReductionAxes, label: "per sample", perSample: true),
        InjectedMistake(name: .wrongReductionAxes, label: "all axes", allAxes: true),
        InjectedMistake(name: .missingDbetaTerm, label: "no dbeta term", dropDbeta: true),
        InjectedMistake(name: .missingDgammaTerm, label: "no dgamma term", dropDgamma: true),
        InjectedMistake(name: .uncentredDgamma, label: "uncentred dgamma", uncentred: true),
        InjectedMistake(name: .accumulatedGradients, label: "3 steps accumulated", factor: 3),
        InjectedMistake(name: .reducedPrecision, label: "float16 xhat", float16Xhat: true),
        InjectedMistake(name: .reducedPrecision, label: "bfloat16 xhat", bfloat16Xhat: true),
        InjectedMistake(name: .unstableVariance, label: "E[x^2]-E[x]^2", unstableVariance: true, offset: 1000),
        InjectedMistake(name: .wrongMode, label: "evaluation statistics", evalStatistics: true),
        InjectedMistake(name: .wrongMomentum, label: "keras convention", kerasMomentum: true),
        InjectedMistake(name: .wrongMomentum, label: "momentum 0.01", momentum: 0.01),
        InjectedMistake(name: .wrongRunningVariance, label: "biased running variance", biasedRunningVariance: true),
    ]
}

extension HandMadeBatchNorm {
    /// Mean and biased variance per group, two-pass in float (E[x^2]-E[x]^2 when asked).
    func statistics(_ members: [[Int]], unstable: Bool) -> [(mean: Float, variance: Float)] {
        members.map { group in
            let count = Float(group.count)
            let mean = group.reduce(Float(0)) { $0 + x[$1] } / count
            if unstable {
                let squares = group.reduce(Float(0)) { $0 + x[$1] * x[$1] } / count
                return (mean, max(0, squares - mean * mean))
            }
            return (mean, group.reduce(Float(0)) { $0 + (x[$1] - mean) * (x[$1] - mean) } / count)
        }
    }

    /// The element indices of each statistics group, and each element's group.
    func groups(_ mistake: InjectedMistake) -> (members: [[Int]], of: [Int]) {
        var of = [Int](repeating: 0, count: x.count), members: [[Int]] = []
        let count = mistake.perSample ? n : mistake.allAxes ? 1 : c
        members = Array(repeating: [], count: count)
        for i in 0..<n {
            for ch in 0..<c {
                for j in 0..<l {
                    let k = index(i, ch, j), g = mistake.perSample ? i : mistake.allAxes ? 0 : ch
                    of[k] = g
                    members[g].append(k)
                }
            }
        }
        return (members, of)
    }

    func rounded(_ v: Float, _ mistake: InjectedMistake) -> Float {
        if mistake.float16Xhat { return Float(Float16(v)) }
        if mistake.bfloat16Xhat {
            return Float(bitPattern: (v.bitPattern &+ 0x7FFF &+ ((v.bitPattern >> 16) & 1)) & 0xFFFF_0000)
        }
        return v
    }
}

extension HandMadeBatchNorm {
    func channel(_ k: Int) -> Int { (k / l) % c }

    /// The training step with `mistake`, in float: out, dx, dgamma, dbeta and the running
    /// statistics, torch's semantics (biased variance normalises, unbiased updates).
    func run(_ mistake: InjectedMistake) -> [String: [Float]] {
        let (members, of) = groups(mistake)
        var stats = statistics(members, unstable: mistake.unstableVariance)
        if mistake.evalStatistics { stats = (0..<c).map { (runningMean[$0], runningVar[$0]) } }
        let e = mistake.eps ?? eps
        let invstd: [Float] = stats.enumerated().map { g, s in
            let count = Float(members[g].count)
            let v = mistake.unbiased ? s.variance * count / (count - 1) : s.variance
            return mistake.epsOutsideSqrt ? 1 / (v.squareRoot() + e) : 1 / (v + e).squareRoot()
        }
        var xhat = [Float](repeating: 0, count: x.count), out = xhat
        var dbeta = [Float](repeating: 0, count: c), dgamma = dbeta, dot = dbeta
        var gSum = [Float](repeating: 0, count: members.count), gXhat = gSum
        for k in x.indices {
            let g = of[k], ch = channel(k)
            xhat[k] = rounded((x[k] - stats[g].mean) * invstd[g], mistake)
            out[k] = gamma[ch] * xhat[k] + beta[ch]
            dbeta[ch] += dout[k]
            dot[ch] += dout[k] * xhat[k]
            dgamma[ch] += dout[k] * (mistake.uncentred ? x[k] * invstd[g] : xhat[k])
            gSum[g] += gamma[ch] * dout[k]
            gXhat[g] += gamma[ch] * dout[k] * xhat[k]
        }
        let dx: [Float] = x.indices.map { k in
            let g = of[k], ch = channel(k), count = Float(members[g].count)
            if mistake.evalStatistics { return dout[k] * gamma[ch] * invstd[g] }
            if mistake.perSample || mistake.allAxes {
                return invstd[g] / count * (count * gamma[ch] * dout[k] - gSum[g] - xhat[k] * gXhat[g])
            }
            let b = mistake.dropDbeta ? 0 : dbeta[ch], d = mistake.dropDgamma ? 0 : dot[ch]
            return gamma[ch] * invstd[g] / m * (m * dout[k] - b - xhat[k] * d)
        }
        var results = [
            "out": out, "dx": dx, "dgamma": dgamma.map { mistake.factor * $0 },
            "dbeta": dbeta.map { mistake.factor * $0 },
        ]
        results.merge(running(mistake, members: members, stats: stats)) { $1 }
        return results
    }

    /// The running update from the batch statistics (every axis's for that mistake, the
    /// channel's otherwise); unchanged when evaluation statistics were used.
    func running(_ mistake: InjectedMistake, members: [[Int]], stats: [(mean: Float, variance: Float)])
        -> [String: [Float]]
    {
        if mistake.evalStatistics { return ["running_mean": runningMean, "running_var": runningVar] }
        let batch =
            mistake.allAxes
            ? stats
            : statistics(
                groups(InjectedMistake.none).members,
                unstable: mistake.unstableVariance)
        let mo = mistake.momentum ?? momentum
        let (keep, take) = mistake.kerasMomentum ? (mo, 1 - mo) : (1 - mo, mo)
        let count = mistake.allAxes ? Float(members[0].count) : m
        let unbiased = mistake.biasedRunningVariance ? 1 : count / (count - 1)
        return [
            "running_mean": (0..<c).map { keep * runningMean[$0] + take * batch[mistake.allAxes ? 0 : $0].mean },
            "running_var": (0..<c).map {
                keep * runningVar[$0] + take * batch[mistake.allAxes ? 0 : $0].variance * unbiased
            },
        ]
    }
}
