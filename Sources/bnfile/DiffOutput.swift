import ArrayComparison
/// Which of the library's renderings of a diff report `bnfile diff` prints; the text
/// itself is ArrayComparison's (ReportRendering/).
enum DiffOutput {
    enum Format {
        case text(color: Bool, allHistograms: Bool)
        case quiet
        case json
    }

    /// Colours only when standard output is a terminal (and NO_COLOR is not set, the
    /// convention of no-color.org): escape codes in a log or a pipe are noise.
    static var colorWanted: Bool { isatty(1) != 0 && getenv("NO_COLOR") == nil }

    static func render(_ report: DiffReport, as format: Format) throws -> String {
        let command = ToolIdentity.command("diff")
        switch format {
        case .json: return try report.json(command: command)
        case .quiet: return report.summaryLine(command: command) + "\n"
        case .text(let color, let allHistograms):
            return report.text(command: command, color: color, allHistograms: allHistograms)
        }
    }
}
