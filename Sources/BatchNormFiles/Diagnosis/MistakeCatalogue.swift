import ArrayComparison
import RealModule

/// The catalogue of batch-norm mistakes `bnfile diff --inputs` can name, with the names
/// it prints.
public enum Mistake: String, CaseIterable, Sendable {
    /// invstd = 1/(sqrt(var) + eps).
    case epsOutsideSqrt = "eps-outside-sqrt"
    /// var*M/(M-1) normalises.
    case unbiasedVariance = "unbiased-variance"
    /// Another eps; estimated from the candidate's out.
    case wrongEps = "wrong-eps"
    /// Statistics per sample, or over every axis.
    case wrongReductionAxes = "wrong-reduction-axes"
    /// dx without -dbeta.
    case missingDbetaTerm = "missing-dbeta-term"
    /// dx without -xhat*dgamma.
    case missingDgammaTerm = "missing-dgamma-term"
    /// dgamma = sum dout*x*invstd, sum dout*(x - mean) or sum dout*x.
    case uncentredDgamma = "uncentred-dgamma"
    /// An integer multiple of the true gradient: zero_grad forgotten.
    case accumulatedGradients = "accumulated-gradients"
    /// xhat rounded to float16 or bfloat16 inside a wider computation.
    case reducedPrecision = "reduced-precision"
    /// var = E[x^2] - E[x]^2 in working precision.
    case unstableVariance = "unstable-variance"
    /// Evaluation statistics where training was meant, or the reverse.
    case wrongMode = "wrong-mode"
    /// Running statistics from another momentum or the other framework's convention.
    case wrongMomentum = "wrong-momentum"
    /// The running variance updated with the biased batch variance where the unbiased
    /// was meant (Keras's and Flax's convention in torch code), or the reverse.
    case wrongRunningVariance = "wrong-running-variance"
}

/// One mistake evaluated on the inputs: what an implementation making it produces for
/// each key it changes (keys it leaves alone have no prediction).
struct MistakeModel {
    var mistake: Mistake
    var parameter: String? = nil
    var value: Double? = nil
    /// What the candidate is compared with, for a key: "the exact dx without the −dbeta term".
    var detail: (String) -> String
    var predictions: [String: Prediction]
    /// Told from the truth by a fingerprint of the side rather than by its values
    /// (`StoredPrecisionModel`): named without being visibly apart from the truth.
    var fingerprinted = false

    /// The keys a forward mistake changes, from a formula variant's outputs.
    static func forwardPredictions(_ outputs: ModelOutputs) -> [String: Prediction] {
        let all: [String: Prediction?] = [
            "out": outputs.out, "dx": outputs.dx, "dgamma": outputs.dgamma,
            "running_mean": outputs.runningMean, "running_var": outputs.runningVar,
            "mean": outputs.mean, "invstd": outputs.invstd,
        ]
        return all.compactMapValues { $0 }
    }
}

/// Short spellings of the parameters: "1e-3", "0.99", "2".
enum ParameterText {
    /// d*10^k as "de-k" when the value is one (within a part in 10^9), else 3 digits.
    static func decimal(_ v: Double) -> String {
        guard v.isFinite, v > 0 else { return NumberText.compact(v) }
        var k = Int(Double.log10(v).rounded(.down))
        if v / Double.pow(10, Double(k)) >= 10 - 1e-9 { k += 1 }
        let d = v / Double.pow(10, Double(k))
        if k < -2 || k > 3, abs(d - d.rounded()) < 1e-9 * d { return "\(Int(d.rounded()))e\(k)" }
        return NumberText.compact(v)
    }
}
