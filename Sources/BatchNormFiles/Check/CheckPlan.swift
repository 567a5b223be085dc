import NumPyFormat

/// One batch-norm layer of a captured step: its inputs, the reference framework's
/// result, and optionally a candidate implementation's result for the same inputs.
public struct CheckLayer: Sendable, Equatable, Encodable {
    public var name: String
    public var inputs: String
    public var reference: String
    public var candidate: String?
}

/// Finds the layers of `bnfile check DIR...`.
///
/// Layers are paired by name from the reference files: `NAME.torch.npz` (or another
/// `--suffix`) beside `NAME.npz`. Pairing from the reference side, not the input side,
/// keeps a layer called twice (`shared.npz`, `shared.call2.npz`) from looking like an
/// input and its result. A candidate folder holds files of the reference's names
/// (`NAME.torch.npz`), or `NAME.npz`.
public enum CheckPlan {
    public static func layers(folders: [String], suffix: String, candidateFolder: String?) throws -> [CheckLayer] {
        let ending = ".\(suffix).npz"
        var layers: [CheckLayer] = []
        for folder in folders {
            let names = try FolderListing.files(in: folder).filter { $0.hasSuffix(ending) && !$0.hasPrefix(".") }
            for name in names {
                let stem = String(name.dropLast(ending.count))
                let inputs = FolderListing.join(folder, stem + ".npz")
                guard FolderListing.isFile(inputs) else { continue }
                let label = folders.count > 1 ? FolderListing.join(folder, stem) : stem
                layers.append(
                    CheckLayer(
                        name: label, inputs: inputs, reference: FolderListing.join(folder, name),
                        candidate: try candidateFolder.map { try candidate(in: $0, name: name, stem: stem) }))
            }
        }
        guard !layers.isEmpty else {
            throw BatchNormFileError(
                "\(folders.joined(separator: ", ")): no layers to check: expected NAME\(ending) "
                    + "beside NAME.npz (the capture helper writes both)")
        }
        return layers
    }

    static func candidate(in folder: String, name: String, stem: String) throws -> String {
        for path in [FolderListing.join(folder, name), FolderListing.join(folder, stem + ".npz")]
        where FolderListing.isFile(path) { return path }
        throw BatchNormFileError("\(folder): no result for layer \(stem) (expected \(name) or \(stem).npz)")
    }
}
