import ArgumentParser
import BatchNormFiles
import ExactBatchNorm

/// The batch-norm settings, as flags shared by `run` and `diff`. Each flag left out is
/// taken from the files (an input's recorded settings, then a result's), then from
/// `--framework`'s defaults; so a flag is needed only to overrule a file.
struct BatchNormOptions: ParsableArguments {
    @Flag(help: "Evaluation mode: use the running statistics and leave them unchanged.")
    var eval = false

    @Flag(help: "Training mode, even where a file records training = False.")
    var train = false

    @Option(
        parsing: .unconditional,
        help: "eps, a double (default: the file's 'eps', else the framework's: torch and flax 1e-5, keras 1e-3).")
    var eps: Double?

    @Option(
        parsing: .unconditional,
        help:
            "momentum of the running statistics, in the framework's meaning (default: the file's, else torch 0.1, keras and flax 0.99)."
    )
    var momentum: Double?

    @Option(help: "nchw: channels on axis 1 (torch); nhwc: channels last (default: the file's, else the framework's).")
    var layout: ChannelLayout?

    @Option(
        help:
            "Whose conventions fill what no file states: torch, keras or flax (eps, momentum and its direction, running variance, layout)."
    )
    var framework: Framework = .torch

    @Option(
        name: .customLong("running-var"),
        help: "Which batch variance updates the running variance: unbiased (torch, tf fused) or biased (keras, flax).")
    var runningVariance: RunningVarianceConvention?

    @Option(help: "Worker threads in all (default: all cores). The results do not depend on it.")
    var threads: Int = ExactBatchNorm.defaultThreadCount

    var settings: BatchNormSettings {
        let stated = StatedSettings(
            eps: eps, momentum: momentum, runningVariance: runningVariance,
            training: eval ? false : (train ? true : nil), layout: layout)
        return BatchNormSettings(stated: stated, framework: framework, threads: threads)
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard !(eval && train) else { throw ValidationError("--eval and --train exclude each other") }
        if let eps, !eps.isFinite { throw ValidationError("--eps must be a finite number, got \(eps)") }
        if let momentum, !momentum.isFinite {
            throw ValidationError("--momentum must be a finite number, got \(momentum)")
        }
    }
}

extension ChannelLayout: ExpressibleByArgument {}
extension Framework: ExpressibleByArgument {}
extension RunningVarianceConvention: ExpressibleByArgument {}
