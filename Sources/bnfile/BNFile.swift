import ArgumentParser
import NumPyFormat

@main
struct BNFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: ToolIdentity.name,
        abstract: "Exact batch-norm references in .npz files, and the tools to check against them.",
        discussion: """
            `bnfile run` computes batch norm's forward and backward passes exactly (torch's \
            formulas in real arithmetic, rounded once) from an input .npz, for one file or \
            whole folders; `bnfile diff` compares two result files and, given the inputs, \
            judges each against the truth, so rounding noise is told apart from bugs; \
            `bnfile inspect` lists what an .npy or .npz holds. Every subcommand exits 2 on \
            trouble, and run writes its outputs atomically, so all of them fit in Makefiles.

            Example:
              bnfile run data/notebook.npz nb.grads.npz
              bnfile diff nb.grads.npz data/notebook.torch.npz --inputs data/notebook.npz
            """,
        version: ToolIdentity.version,
        subcommands: [Run.self, Diff.self, Check.self, Inspect.self])

    /// Exit statuses follow cmp and h5diff: 0 same or done, 1 differ (diff only),
    /// 2 trouble. ArgumentParser exits 64 (EX_USAGE) on a bad flag; a Makefile or script
    /// testing for 2 would miss that, so usage errors are reported as one line and exit
    /// 2 like every other trouble. Help and version requests still exit 0.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // An input truncated while mapped ends the run with one line, not a crash report.
        MappingFaults.install(prefix: "\(ToolIdentity.name): error: ", cleanup: SignalCleanup.removeFiles)
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(message(for: error))
                let subcommand =
                    configuration.subcommands
                    .map { $0._commandName }
                    .first { $0 == arguments.first } ?? ""
                StandardError.write("See '\(ToolIdentity.name) \(subcommand.isEmpty ? "" : subcommand + " ")--help'.\n")
                LibC.exit(2)
            }
            exit(withError: error)
        }
    }
}
