import ArgumentParser
import BatchNormFiles
import ExactBatchNorm
import NumPyFormat

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute batch norm forward and backward exactly, from .npz files to .npz files.",
        discussion: """
            Reads x (required), gamma/weight, beta/bias, dout/grad_out/dy, running_mean, \
            running_var and the optional 0-d settings (eps, momentum, momentum_convention, \
            running_var_convention, training, layout) from IN.npz, and writes out, dx, \
            dgamma, dbeta, running_mean, running_var, mean, invstd and the settings used to \
            OUT.npz. Flags override the file's settings, which override --framework's \
            defaults. Every value \
            is the exact result of torch's BatchNorm formulas on the given inputs, rounded \
            once to the output dtype (out and dx in x's dtype, per-channel arrays in gamma's), \
            so the file is a reference to measure other implementations against. Without \
            dout only the forward pass is written. Other keys are ignored, except one that \
            looks like a misspelt absent key (gama, grad_output): that is an error, not a \
            silent default. OUT appears complete or not at all, and any error exits with \
            status 2, so make -j and reruns after a failure are safe.

            bfloat16: ml_dtypes saves bfloat16 as <V2 (raw 2-byte items); name such \
            members with --bfloat16 x,dout, or list them in a 1-d string member \
            'bfloat16' of the file (np.array(["x", "dout"])). Other <V2 members are \
            refused. bfloat16 x gives bfloat16 out and dx, written as <V2 with the same \
            'bfloat16' member declaring them, so np.load(f)["out"].view(ml_dtypes.bfloat16) \
            reads them and bnfile needs no flag for its own files.

            With --out-dir, every IN (a file, or a folder whose *.npz files are taken, \
            sorted, not recursively, skipping *.grads.npz outputs) is written to \
            DIR/<name>.grads.npz, where <name> is the input's file name without .npz. \
            Files run in parallel on the --threads cores, each result identical to a \
            single run. A progress bar is drawn on stderr when it is a terminal, and a \
            summary ends the run. The first failure stops new files from starting \
            (--keep-going runs them all); any failure makes the exit status 2.

            Example:
              bnfile run data/notebook.npz notebook.grads.npz
              bnfile run --eval --layout nhwc batch.npz batch.grads.npz
              bnfile run --bfloat16 x,dout autocast.npz autocast.grads.npz
              bnfile run --out-dir grads --keep-going runs/ extra.npz
            """)

    @Argument(
        help: ArgumentHelp(
            "IN.npz OUT.npz; with --out-dir, the inputs: .npz files and folders of them.",
            valueName: "files"))
    var files: [String]

    @Option(
        help: ArgumentHelp(
            "Process every input into DIR/<name>.grads.npz (DIR is created if missing).",
            valueName: "DIR"))
    var outDir: String?

    @Flag(help: "With --out-dir: after a file fails, go on with the others (the exit status is still 2).")
    var keepGoing = false

    @OptionGroup var batchNorm: BatchNormOptions

    @Flag(help: "Deflate the output members (like np.savez_compressed).")
    var compress = false

    @OptionGroup var limits: ReadLimits

    @OptionGroup var bfloat16: BFloat16Keys

    func validate() throws {
        if outDir != nil {
            guard !files.isEmpty else { throw ValidationError("--out-dir needs at least one input file or folder") }
        } else {
            guard files.count == 2 else {
                throw ValidationError(
                    "expected IN.npz OUT.npz, got \(files.count) path(s); "
                        + "to process many files use --out-dir DIR IN...")
            }
            guard !keepGoing else { throw ValidationError("--keep-going applies only with --out-dir DIR") }
        }
    }

    func run() throws {
        let settings = batchNorm.settings
        let options = bfloat16.applied(to: limits.options)
        if let outDir {
            try BatchRun.perform(arguments: files, outDir: outDir, keepGoing: keepGoing, threads: settings.threads) {
                [settings, options, compress] item, threadsForFile in
                var fileSettings = settings
                fileSettings.threads = threadsForFile
                try RunJob.run(
                    input: item.input, output: item.output, settings: fileSettings, options: options,
                    compressed: compress)
            }
            return
        }
        try exitingOnTrouble {
            try RunJob.run(
                input: files[0], output: files[1], settings: settings, options: options,
                compressed: compress)
        }
    }
}
