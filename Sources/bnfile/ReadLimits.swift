import ArgumentParser
import NumPyFormat

/// The reader's bounds on untrusted files, as flags shared by every subcommand that
/// reads .npz files. They keep a hostile or corrupt archive from costing more than a
/// bounded amount of memory and time; a user who trusts a file raises them here.
struct ReadLimits: ParsableArguments {
    @Option(help: "Refuse members that declare more than this many bytes, and inputs whose per-channel work needs more (default 64 GiB or the machine's memory, whichever is less).")
    var maxBytes: Int = NPYReadOptions.defaultMaxBytes

    @Option(help: "Refuse archives with more than this many members (default 4096).")
    var maxMembers: Int = 4096

    var options: NPYReadOptions {
        var options = NPYReadOptions()
        options.maxBytes = maxBytes
        options.maxMembers = maxMembers
        return options
    }

    func validate() throws {
        guard maxBytes > 0, maxMembers > 0 else { throw ValidationError("--max-bytes and --max-members must be positive") }
    }
}
