/// The outcome of a whole run, in the convention of cmp and h5diff: 0 when the files
/// are the same (under the chosen rule), 1 when they differ. (Status 2, "trouble", is
/// the CLI's business: an unreadable file never reaches this library.)
public enum DiffResult: Int32, Sendable, Codable {
    case same = 0
    case differ = 1

    /// "same" or "differ", as the JSON spells it.
    public var name: String { self == .same ? "same" : "differ" }
}

/// All keys of one `bnfile diff A B`.
public struct DiffReport: Sendable, Codable, Equatable {
    public var fileA: String
    public var fileB: String
    /// In the order the caller wants them shown (typically sorted by key).
    public var keys: [KeyReport]
    /// What the reader should know that is no difference: keys in one file only, dtypes
    /// that differ, the settings used. One sentence each.
    public var notes: [String]
    /// With a truth: how well the data's format resolves each channel.
    public var channels: [ChannelAccuracy]

    public init(
        fileA: String, fileB: String, keys: [KeyReport], notes: [String] = [],
        channels: [ChannelAccuracy] = []
    ) {
        self.fileA = fileA
        self.fileB = fileB
        self.keys = keys
        self.notes = notes
        self.channels = channels
    }

    public var differingKeys: [KeyReport] { keys.filter(\.differs) }

    /// Two files with no key in common differ: nothing of B was reproduced.
    public var hasCommonKey: Bool { keys.isEmpty || keys.contains { $0.outcome.comparison != nil } }

    public var result: DiffResult { keys.contains(where: \.differs) || !hasCommonKey ? .differ : .same }

    /// "truth" when any key was judged against the truth, else "plain".
    public var mode: String { keys.contains { $0.truth != nil } ? "truth" : "plain" }
}
