import ExactBatchNorm

/// What the keys of an input file say when they are not what `bnfile run` reads.
///
/// Keys bnfile does not read are ignored, so files can carry extras (labels, a
/// state_dict's `num_batches_tracked`, notes). The one exception is a key that looks
/// like a misspelling of a role that is absent: `gama` beside no `gamma` would
/// otherwise silently become gamma = 1 and a wrong reference, so it is an error that
/// names the key to rename. The messages list the keys present, so the fix can be made
/// without opening the file in Python.
public enum BatchNormInputKeys {
    /// What bnfile (and `scripts/torch_export.py`) write: a file with these and no x is
    /// an output given where an input belongs.
    public static let outputKeys: Set<String> = ["out", "dx", "dgamma", "dbeta", "mean", "invstd"]

    /// What each role becomes when its key is absent, for the misspelling message.
    public static let defaults: [String: String] = [
        "gamma": "gamma = 1", "beta": "beta = 0", "dout": "no backward pass",
        "running_mean": "running_mean = 0", "running_var": "running_var = 1",
        "eps": "eps = 1e-5", "momentum": "momentum = 0.1",
    ]

    /// The message for a file without `x`.
    public static func missingX(names: [String], path: String) -> String {
        var message = "\(path): no array 'x' (the input); keys present: \(present(names))"
        if let candidate = names.first(where: { ["x", "input", "inputs"].contains($0.lowercased()) }) {
            message += "; rename '\(candidate)' to 'x'"
        } else if names.filter(outputKeys.contains).count >= 2 {
            message += "; this looks like an output file (bnfile run's or torch's), not an input"
        }
        return message
    }

    /// Throws for a key that is not read but resembles a key of a role that is absent.
    public static func refuseMisspellings(names: [String], foundRoles: Set<String>, path: String) throws {
        let known = Set(BatchNormInputFile.aliases.flatMap(\.keys))
        for name in names where !known.contains(name) && !outputKeys.contains(name) {
            for (role, keys) in BatchNormInputFile.aliases where !foundRoles.contains(role) {
                guard let meant = keys.first(where: { resembles(name, $0) }) else { continue }
                let fallback = defaults[role].map { " (without it: \($0))" } ?? ""
                throw BatchNormFileError(
                    "\(path): key '\(name)' is not one bnfile reads; did you mean '\(meant)'? "
                        + "Rename it in the file\(fallback); keys present: \(present(names))")
            }
        }
    }

    /// A hint for a per-channel array whose length fits the other layout's channel axis.
    public static func layoutHint(length: [Int], xShape: [Int], layout: ChannelLayout) -> String {
        guard xShape.count >= 3, length.count == 1 else { return "" }
        let other: ChannelLayout = layout == .channelsFirst ? .channelsLast : .channelsFirst
        let otherChannels = other == .channelsLast ? xShape[xShape.count - 1] : xShape[1]
        guard length[0] == otherChannels else { return "" }
        return
            "; if the channels are on the \(other == .channelsLast ? "last" : "second") axis, pass --layout \(other.rawValue)"
    }

    /// Case-insensitive equality; for keys of 4+ characters also one edit (two for 6+,
    /// a transposition counting as one) or one name extending the other (`grad_output`,
    /// `epsilon`). Short keys (x, dy) get no fuzzy matching: too many names are near them.
    public static func resembles(_ name: String, _ key: String) -> Bool {
        let a = name.lowercased(), b = key.lowercased()
        if a == b { return true }
        if b.count >= 3, a.count > b.count, a.hasPrefix(b) { return true }
        guard b.count >= 4, a.count >= 4 else { return false }
        if b.hasPrefix(a) { return true }
        return editDistance(Array(a.utf8), Array(b.utf8)) <= (b.count >= 6 ? 2 : 1)
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    public static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }

    private static func present(_ names: [String]) -> String {
        names.isEmpty ? "(none)" : names.joined(separator: ", ")
    }
}
