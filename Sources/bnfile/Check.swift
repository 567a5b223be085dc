import ArgumentParser
import BatchNormFiles
import Dispatch
import ExactBatchNorm
import NumPyFormat

/// `bnfile check DIR...`: every captured batch-norm layer of a training step, judged
/// against the truth in one run, one table, one exit status.
///
/// Thin glue: `CheckPlan` pairs the files, `CheckJob` judges a layer as `diff --inputs`
/// does, `CheckReport` and `CheckPage` render; this schedules the layers on the cores,
/// draws the progress bar and places the outputs.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge every captured batch-norm layer in folders against the exact result.",
        discussion: """
            For every NAME.torch.npz (another reference with --suffix) beside a NAME.npz of \\
            inputs, as python/bnfile_capture.py writes them, bnfile computes the truth and \\
            judges the reference's out, dx, dgamma, dbeta and running statistics as \\
            `bnfile diff --inputs` does, under the settings the files record. With \\
            --candidate DIR, DIR's files of the same names (a second implementation's \\
            results) are judged beside the reference's. Layers run in parallel; a progress \\
            bar is drawn on stderr when it is a terminal. Prints a table of layer x key \\
            (exact, the largest error in u*scale when within rounding, BEYOND when beyond) \\
            and a summary line. Exit status: 0 every result within rounding, 1 any beyond \\
            (the summary names the layers), 2 trouble.

            Example:
              bnfile check captures/
              bnfile check captures/ --candidate mine/ --html report.html
              bnfile check captures/ --json > check.json
            """)

    @Argument(help: ArgumentHelp("Folders of captured layers (NAME.npz with NAME.torch.npz).", valueName: "DIR"))
    var folders: [String]

    @Option(help: ArgumentHelp("The reference files' suffix: NAME.<suffix>.npz.", valueName: "suffix"))
    var suffix = "torch"

    @Option(
        help: ArgumentHelp(
            "A folder of a second implementation's results, named as the reference's.",
            valueName: "DIR"))
    var candidate: String?

    @Flag(help: "Print the full report as JSON.")
    var json = false

    @Option(help: ArgumentHelp("Also write a self-contained HTML report (table and plots) to FILE.", valueName: "FILE"))
    var html: String?

    @OptionGroup(title: "Batch-norm settings (where the files record none)") var batchNorm: BatchNormOptions

    @OptionGroup var limits: ReadLimits

    func run() throws {
        let layers = try exitingOnTrouble {
            try CheckPlan.layers(folders: folders, suffix: suffix, candidateFolder: candidate)
        }
        let report = CheckReport(
            layers: CheckRun.judge(layers, settings: batchNorm.settings, options: limits.options),
            referenceName: suffix)
        let command = ToolIdentity.command("check")
        if let html {
            try exitingOnTrouble { try writeAtomically(CheckPage.render(report, command: command), to: html) }
        }
        print(
            json
                ? try report.json(command: command)
                : report.table(color: DiffOutput.colorWanted) + "\n" + report.summaryLine(command: command),
            terminator: json ? "" : "\n")
        for trouble in report.layers.flatMap(\.troubles) { printError(trouble) }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    func writeAtomically(_ text: String, to path: String) throws {
        let file = try AtomicOutput(destination: path)
        do {
            let bytes = Array(text.utf8)
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes {
                    LibC.write(file.descriptor, $0.baseAddress! + done, bytes.count - done)
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ToolError("\(path): cannot write: \(String(cString: strerror(errno)))") }
                done += n
            }
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }
}

/// Runs the layers on the cores: each worker takes the next layer, with its share of
/// the threads (a layer's verdict does not depend on its thread count).
enum CheckRun {
    static func judge(_ layers: [CheckLayer], settings: BatchNormSettings, options: NPYReadOptions) -> [LayerCheck] {
        let workers = max(1, min(settings.threads, layers.count))
        var perLayer = settings
        perLayer.threads = max(1, settings.threads / workers)
        let state = Locked(
            (
                next: 0, done: 0, results: [LayerCheck?](repeating: nil, count: layers.count),
                progress: ProgressBar(total: layers.count)
            ))
        DispatchQueue.concurrentPerform(iterations: workers) { [perLayer] _ in
            while let index = state.withLock({ s -> Int? in
                guard s.next < layers.count else { return nil }
                defer { s.next += 1 }
                return s.next
            }) {
                let result = CheckJob.judge(layers[index], settings: perLayer, options: options)
                state.withLock { s in
                    s.results[index] = result
                    s.done += 1
                    s.progress.draw(done: s.done, failed: 0)
                }
            }
        }
        return state.withLock { s in
            s.progress.erase()
            return s.results.map { $0! }
        }
    }
}
