/// The tool's name and version, each written once: `--version` prints the version, and
/// the renderers in the libraries are handed the name ("bnfile diff: ...") rather than
/// spelling it themselves.
enum ToolIdentity {
    static let name = "bnfile"

    /// Semantic versioning: the major number changes when a verdict, an exit status or a
    /// file the tool writes changes meaning.
    static let version = "0.1.0"

    /// How a subcommand is named in what it prints: "bnfile diff".
    static func command(_ subcommand: String) -> String { "\(name) \(subcommand)" }
}
