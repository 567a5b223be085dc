import BatchNormFiles
import NumPyFormat

/// One file of a batch: where it is read and where its results go.
struct BatchItem: Sendable {
    let input: String
    let output: String
}

/// Turns the arguments of `bnfile run --out-dir DIR IN...` into the files to process.
///
/// Everything that can make a batch ambiguous is refused here, before any file is read
/// or written: a batch that stops halfway because two inputs map to one output would
/// leave the user guessing which result is whose.
///
/// - A folder contributes its `*.npz` files (not recursively, sorted by name) except
///   hidden ones, `*.grads.npz`, which are this command's own outputs (so a folder can
///   be its own `--out-dir`, and a rerun does not make `a.grads.grads.npz`), and
///   `*.torch.npz`, the reference results the capture helper writes beside its inputs. A file
///   named explicitly is always taken, whatever its name.
/// - Input `a.npz` writes `DIR/a.grads.npz`, the name the Makefile pattern rule
///   `%.grads.npz: %.npz` gives; a name without `.npz` keeps its whole name as stem.
/// - The same file named twice (directly or through its folder) is processed once;
///   two different files with one stem, or an output that would replace an input,
///   are errors.
enum BatchPlan {
    static let outputSuffix = ".grads.npz"
    /// Torch's results beside captured inputs (`NAME.torch.npz`), skipped like outputs.
    static let referenceSuffix = ".torch.npz"

    /// `a.npz` -> `a.grads.npz`; `runs/b.in.npz` -> `b.in.grads.npz`.
    static func outputName(forInput path: String) -> String {
        var name = fileName(path)
        if name.hasSuffix(".npz") { name.removeLast(4) }
        return name + outputSuffix
    }

    /// The items in argument order (folders expanded in place), or a `ToolError`.
    /// Folders with nothing to process produce the returned warnings.
    static func make(arguments: [String], outDir: String) throws -> (items: [BatchItem], warnings: [String]) {
        var inputs: [String] = []
        var warnings: [String] = []
        for argument in arguments {
            if isDirectory(argument) {
                let found = try npzFiles(inFolder: argument)
                if found.isEmpty {
                    warnings.append(
                        "\(argument): no .npz inputs in this folder (*.grads.npz files are outputs and are skipped)")
                }
                inputs += found
            } else {
                // A missing or unreadable file is not refused here: it fails as that
                // file's job, so --keep-going can carry on past it.
                inputs.append(argument)
            }
        }
        inputs = uniqueFiles(inputs)
        guard !inputs.isEmpty else {
            throw ToolError(
                (["no input files: name .npz files or folders holding them"] + warnings).joined(separator: "; "))
        }
        let items = inputs.map { BatchItem(input: $0, output: FolderListing.join(outDir, outputName(forInput: $0))) }
        try refuseSharedOutputs(items)
        try refuseReplacedInputs(items, outDir: outDir)
        return (items, warnings)
    }

    /// Creates `path` and its missing parents, like `mkdir -p`.
    static func createFolder(_ path: String) throws {
        if isDirectory(path) { return }
        var partial = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            partial += component
            if !isDirectory(partial), mkdir(partial, 0o777) != 0, errno != EEXIST {
                throw ToolError("--out-dir \(path): cannot create \(partial): \(String(cString: strerror(errno)))")
            }
            partial += "/"
        }
        guard isDirectory(path) else {
            throw ToolError("--out-dir \(path): exists and is not a folder")
        }
    }

    // MARK: - Checks

    private static func refuseSharedOutputs(_ items: [BatchItem]) throws {
        var firstInput: [String: String] = [:]
        for item in items {
            if let other = firstInput[item.output] {
                throw ToolError(
                    "\(other) and \(item.input) would both be written to \(item.output); "
                        + "rename one of them, or run them with different --out-dir folders")
            }
            firstInput[item.output] = item.input
        }
    }

    private static func refuseReplacedInputs(_ items: [BatchItem], outDir: String) throws {
        guard let realOutDir = realPath(outDir) else { return }  // not created yet: holds no inputs
        let inputs = Set(items.compactMap { realPath($0.input) })
        for item in items where inputs.contains(FolderListing.join(realOutDir, fileName(item.output))) {
            throw ToolError(
                "\(item.input): its output \(item.output) is also an input of this batch and would be "
                    + "replaced; choose another --out-dir")
        }
    }

    // MARK: - File system

    /// The `*.npz` entries of a folder that are inputs, sorted by their bytes so the
    /// order does not depend on the locale or on readdir.
    private static func npzFiles(inFolder folder: String) throws -> [String] {
        try FolderListing.files(in: folder).filter { name in
            name.hasSuffix(".npz") && !name.hasSuffix(outputSuffix) && !name.hasSuffix(referenceSuffix)
                && !name.hasPrefix(".")
        }.map { FolderListing.join(folder, $0) }
    }

    /// Drops later mentions of a file already listed (compared by real path, so
    /// `data/x.npz` and `data/./x.npz` are one file).
    private static func uniqueFiles(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        return paths.filter { seen.insert(realPath($0) ?? $0).inserted }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
