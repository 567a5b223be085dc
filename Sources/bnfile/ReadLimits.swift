import ArgumentParser
import NumPyFormat

/// The reader's bounds on untrusted files, as flags shared by every subcommand that
/// reads .npz files. They keep a hostile or corrupt archive from costing more than a
/// bounded amount of memory and time; a user who trusts a file raises them here. The
/// defaults are the reader's own (`NPYReadOptions()`), read from it, not repeated.
struct ReadLimits: ParsableArguments {
    private static let defaults = NPYReadOptions()

    @Option(
        help: ArgumentHelp(
            "Refuse members that declare more than this many bytes, and inputs whose per-channel "
                + "work needs more (default 64 GiB or the machine's memory, whichever is less: \(bytes(defaults.maxBytes)) here; "
                + "inspect reads members in pieces and needs no such bound)."))
    var maxBytes: Int = ReadLimits.defaults.maxBytes

    @Option(help: "Refuse archives with more than this many members (default \(defaults.maxMembers)).")
    var maxMembers: Int = ReadLimits.defaults.maxMembers

    var options: NPYReadOptions {
        var options = Self.defaults
        options.maxBytes = maxBytes
        options.maxMembers = maxMembers
        return options
    }

    func validate() throws {
        guard maxBytes > 0, maxMembers > 0 else {
            throw ValidationError("--max-bytes and --max-members must be positive")
        }
    }

    /// A byte count in the largest binary unit that divides it: "64 GiB".
    static func bytes(_ count: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where count > 0 && count % (1 << shift) == 0 {
            return "\(count >> shift) \(unit)"
        }
        return "\(count) bytes"
    }
}
