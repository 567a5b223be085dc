import ArrayComparison
import NumPyFormat

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
        case .quiet: return forTerminal(report).summaryLine(command: command) + "\n"
        case .text(let color, let allHistograms):
            return forTerminal(report).text(command: command, color: color, allHistograms: allHistograms)
        }
    }

    /// The report with control characters in key and file names escaped, for text a
    /// terminal shows (JSON escapes them by its own rules and keeps the names exact).
    static func forTerminal(_ report: DiffReport) -> DiffReport {
        var shown = report
        shown.fileA = escapingControlCharacters(report.fileA)
        shown.fileB = escapingControlCharacters(report.fileB)
        shown.keys = report.keys.map { key in
            var key = key
            key.key = escapingControlCharacters(key.key)
            return key
        }
        return shown
    }
}
