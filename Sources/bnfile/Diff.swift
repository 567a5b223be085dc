import ArgumentParser
import ArrayComparison
import BatchNormFiles
import ExactBatchNorm
import NumPyFormat

/// `bnfile diff`: is a mismatch against a reference a bug or rounding noise?
///
/// Thin glue: `DiffJob` loads and aligns the arrays (and the truth with `--inputs`), the
/// ArrayComparison library judges them, `DiffOutput` prints the report. Exit status is
/// cmp's and h5diff's: 0 same, 1 differ, 2 trouble.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two .npz (or .npy) files, optionally against the exact batch-norm result.",
        discussion: """
            B is the reference. Each key is compared element by element with torch's \
            assert_close rule, |a - b| <= atol + rtol*|b|, under the dtype's assert_close \
            defaults unless --rtol/--atol replace them (two float dtypes: the looser one's). \
            Shape mismatches count as differences; a key in one file only is a note unless \
            --keys names it. With --inputs, the exact engine computes the true out, dx, \
            dgamma, dbeta, mean, invstd and running statistics from the inputs that produced \
            A and B, and each side is judged in its own dtype by its error in units of \
            u*scale, scale being the first-order error bound of a backward-stable evaluation: \
            exact, within rounding, or beyond rounding (a bug, or an unstable algorithm). A \
            and B may then disagree, as two correct implementations do; the run fails only \
            when a side is beyond rounding. Settings come from the flags, then the inputs, \
            then a result file that records them, then --framework's defaults. Two .npy files \
            are one key, named after the file when both have the same name (out.npy), else \
            "array"; --keys NAME names it. bfloat16 arrays (<V2, as ml_dtypes saves them) \
            are compared on bfloat16's grid (u = 2^-8, assert_close's 1.6e-2 and 1e-5) once \
            declared: by --bfloat16 KEY[,KEY...], which applies to A, B and --inputs, or by \
            the file's own 'bfloat16' member (bnfile writes one); that member is not a key. \
            Exit status: 0 same, 1 differ, 2 trouble.

            Example:
              bnfile diff mine.npz torch.npz --inputs in.npz
              bnfile diff keras.npz keras.npz --inputs in.npz --framework keras
              bnfile diff mine.npz torch.npz --keys out,dx --rtol 1e-5 --json
              bnfile diff autocast.torch.npz autocast.grads.npz --inputs autocast.npz --bfloat16 x,dout
            """)

    @Argument(help: ArgumentHelp("The file to check (.npz, or .npy with B also .npy).", valueName: "A"))
    var fileA: String

    @Argument(help: ArgumentHelp("The reference (.npz or .npy).", valueName: "B"))
    var fileB: String

    @Option(help: ArgumentHelp("Compare only these keys (comma-separated).", valueName: "k1,k2"))
    var keys: [String] = []

    @Option(help: "Relative tolerance (default: torch.testing.assert_close's for the dtype).")
    var rtol: Double?

    @Option(help: "Absolute tolerance (default: torch.testing.assert_close's for the dtype).")
    var atol: Double?

    @Option(
        help: ArgumentHelp(
            "The input .npz that produced A and B: judge both against the exact result.",
            valueName: "IN.npz"))
    var inputs: String?

    @Option(help: "Channel axis for the per-channel breakdown (default 1; -1 with --layout nhwc).")
    var axis: Int?

    @Option(help: "How many of the worst elements the JSON lists per key.")
    var top: Int = 10

    @Flag(help: "NaN in both A and B counts as a match.")
    var equalNan = false

    @Flag(help: "Print the full report as JSON.")
    var json = false

    @Flag(help: "Print one line.")
    var quiet = false

    @Flag(help: "Print the error histograms of every key, not only of the keys that differ.")
    var histograms = false

    @OptionGroup(title: "Batch-norm settings (with --inputs)") var batchNorm: BatchNormOptions

    @OptionGroup var limits: ReadLimits

    @OptionGroup var bfloat16: BFloat16Keys

    /// `--keys a,b --keys c` is a, b, c; nil when not given.
    var keyList: [String]? {
        guard !keys.isEmpty else { return nil }
        return keys.flatMap { $0.split(separator: ",") }
            .map { name in String(name.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            .filter { !$0.isEmpty }
    }

    func validate() throws {
        for (name, value) in [("--rtol", rtol), ("--atol", atol)] {
            if let value, !(value >= 0 && value.isFinite) {
                throw ValidationError("\(name) must be a finite number >= 0, got \(value)")
            }
        }
        guard top >= 0 else { throw ValidationError("--top must be at least 0") }
        if keyList?.isEmpty == true { throw ValidationError("--keys names no key") }
        if json && quiet { throw ValidationError("--json and --quiet exclude each other") }
    }

    func run() throws {
        let options = bfloat16.applied(to: limits.options)
        let request = DiffRequest(
            fileA: fileA, fileB: fileB, keys: keyList, rtol: rtol, atol: atol,
            channelAxis: axis, topK: top, equalNaN: equalNan, inputs: inputs,
            settings: batchNorm.settings, options: options)
        let report = try exitingOnTrouble { try DiffJob.report(for: request) }
        let format: DiffOutput.Format =
            json ? .json : (quiet ? .quiet : .text(color: DiffOutput.colorWanted, allHistograms: histograms))
        let text = try exitingOnTrouble { try DiffOutput.render(report, as: format) }
        print(text, terminator: "")
        if report.result == DiffResult.differ { throw ExitCode(report.result.rawValue) }
    }
}
