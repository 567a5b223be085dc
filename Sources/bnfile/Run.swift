import ArgumentParser
import ExactBatchNorm
import NumPyFormat

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute batch norm forward and backward exactly, from an .npz to an .npz.",
        discussion: """
            Reads x (required), gamma/weight, beta/bias, dout/grad_out/dy, running_mean, \
            running_var and optional 0-d eps and momentum from IN.npz, and writes out, dx, \
            dgamma, dbeta, running_mean, running_var, mean and invstd to OUT.npz. Every value \
            is the exact result of torch's BatchNorm formulas on the given inputs, rounded \
            once to the output dtype (out and dx in x's dtype, per-channel arrays in gamma's), \
            so the file is a reference to measure other implementations against. Without \
            dout only the forward pass is written. OUT appears complete or not at all.

            Example:
              bnfile run data/notebook.npz notebook.grads.npz
              bnfile run --eval --layout nhwc batch.npz batch.grads.npz
            """)

    @Argument(help: "IN.npz OUT.npz.")
    var files: [String]

    @Flag(help: "Evaluation mode: use the running statistics and leave them unchanged.")
    var eval = false

    @Option(help: "eps (a double, default: the file's 'eps', else 1e-5).")
    var eps: Double?

    @Option(help: "momentum for the running statistics (default: the file's 'momentum', else 0.1).")
    var momentum: Double?

    @Option(help: "nchw: channels on axis 1 (torch); nhwc: channels on the last axis.")
    var layout: ChannelLayout = .channelsFirst

    @Flag(help: "Deflate the output members (like np.savez_compressed).")
    var compress = false

    @Option(help: "Worker threads (default: all cores). The results do not depend on it.")
    var threads: Int = ExactBatchNorm.defaultThreadCount

    @Option(help: "Refuse members larger than this many bytes (default 64 GiB).")
    var maxBytes: Int = 64 << 30

    func validate() throws {
        guard files.count == 2 else {
            throw ValidationError("expected IN.npz OUT.npz, got \(files.count) path(s)")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let settings = BatchNormSettings(evaluation: eval, eps: eps, momentum: momentum, layout: layout,
                                         threads: threads)
        var options = NPYReadOptions()
        options.maxBytes = maxBytes
        try exitingOnTrouble {
            try RunJob.run(input: files[0], output: files[1], settings: settings, options: options,
                           compressed: compress)
        }
    }
}

extension ChannelLayout: ExpressibleByArgument {}
