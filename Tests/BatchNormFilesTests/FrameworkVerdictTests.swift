import ArrayComparison
import BatchNormFiles
import Foundation
import Testing

/// Real frameworks' results (data/frameworks, data/captures: made with torch 2.15,
/// Keras 3.15, Flax 0.12 and TensorFlow 2.21 by the scripts named in their READMEs),
/// judged under the conventions their files record.
@Suite struct FrameworkVerdictTests {
    /// Results that are rightly beyond rounding, each with the reason.
    ///
    /// - Flax's default `use_fast_variance=True` computes E[x^2] - E[x]^2, which collapses
    ///   at |mean|/std = 1e5.
    /// - Keras on the JAX backend computes a float64 layer in float32 (JAX's default):
    ///   float64 arrays with float32 accuracy are beyond float64's rounding.
    static let rightlyBeyond: Set<String> = ["flax/offset1000_f32.flax-fast", "keras/offset3_f64.keras-jax"]

    static let results: [String] = ["keras", "flax", "tf-fused"].flatMap { folder in
        fixtures("frameworks/\(folder)", endingIn: ".npz").filter {
            $0.split(separator: "/").last!.split(separator: ".").count == 3
        }
    }

    static func name(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return "\(parts[parts.count - 2])/\(parts.last!.dropLast(".npz".count))"
    }

    static func inputs(of result: String) -> String {
        let stem = result.dropLast(".npz".count)
        return String(stem[..<stem.lastIndex(of: ".")!]) + ".npz"
    }

    @Test func everyFrameworkIsThere() {
        for suffix in [".keras-tf.npz", ".keras-jax.npz", ".flax.npz", ".flax-fast.npz", ".tf-fused.npz"] {
            #expect(Self.results.contains { $0.hasSuffix(suffix) }, "\(suffix)")
        }
    }

    @Test(arguments: results)
    func frameworksAreJudgedUnderTheirOwnConventions(_ result: String) throws {
        let report = try judge(result, inputs: Self.inputs(of: result))
        let beyond = beyondKeys(report)
        if Self.rightlyBeyond.contains(Self.name(result)) {
            #expect(!beyond.isEmpty, "\(Self.name(result)) must stay beyond rounding")
        } else {
            #expect(beyond.isEmpty, "\(Self.name(result)): \(beyond)")
        }
        #expect(report.keys.filter { $0.truth != nil }.count >= 6, "out, dx, dgamma, dbeta, running stats judged")
    }

    /// Without the recorded conventions (torch's defaults instead), Keras's running
    /// statistics are far off: the conventions, not luck, make the verdicts above.
    @Test func kerasUnderTorchConventionsIsBeyondRounding() throws {
        let result = try #require(Self.results.first { $0.hasSuffix("keras/u01_f32.keras-tf.npz") })
        var settings = BatchNormSettings(threads: 2)
        settings.stated = StatedSettings(
            eps: 1e-5, momentum: 0.1, momentumConvention: .torch, runningVariance: .unbiased)
        let beyond = beyondKeys(try judge(result, inputs: Self.inputs(of: result), settings: settings))
        #expect(beyond["running_mean"] != nil && beyond["out"] != nil, "\(beyond)")
    }

    static let captures =
        fixtures("captures/resnet18", endingIn: ".torch.npz")
        + fixtures("captures/variants", endingIn: ".torch.npz") + fixtures("captures/bfloat16", endingIn: ".torch.npz")

    /// torchvision's resnet18, a network with every capture variant and a bfloat16
    /// autocast layer: torch's CPU results are within rounding on every layer (the
    /// README's torch workflow), the bfloat16 ones read without flags.
    @Test(arguments: captures)
    func capturedTorchLayersAreWithinRounding(_ result: String) throws {
        let inputs = String(result.dropLast(".torch.npz".count)) + ".npz"
        let report = try judge(result, inputs: inputs)
        #expect(beyondKeys(report).isEmpty, "\(result): \(beyondKeys(report))")
        #expect(report.result == .same)
    }

    @Test func aCorruptedLayerIsBeyondRounding() throws {
        #expect(Self.captures.count >= 35)
        let corrupted = fixtures("captures/resnet18_corrupt", endingIn: ".torch.npz")
        let verdicts = try corrupted.map { result in
            beyondKeys(try judge(result, inputs: String(result.dropLast(".torch.npz".count)) + ".npz"))
        }
        #expect(verdicts.filter { $0.keys.contains("dx") }.count == 1, "\(verdicts)")
    }
}
