import ArgumentParser

@main
struct BNFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bnfile",
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
        subcommands: [Run.self, Diff.self, Inspect.self])
}
