/// The renderings a command prints, each implemented in ReportRendering/. `command` is
/// the name of the command that prints the report ("bnfile diff"): the summary line
/// starts with it and the JSON names it as its tool.
extension DiffReport {
    /// One row per key; ANSI colours only when `color` (the output is a terminal).
    public func table(color: Bool = false) -> String { TableRenderer.render(self, color: color) }

    /// The one-line summary, without a trailing newline.
    public func summaryLine(command: String) -> String { SummaryLine.render(self, command: command) }

    /// The full text report (see `TextReport`); colours only when `color`, histograms of
    /// every key when `allHistograms`, else of the keys that differ.
    public func text(command: String, color: Bool = false, allHistograms: Bool = false) -> String {
        TextReport.render(self, command: command, color: color, allHistograms: allHistograms)
    }

    /// Log-scale error histograms of every compared key: ulp distances between A and B,
    /// and in truth mode each side's error in u*scale.
    public func histograms(color: Bool = false) -> String {
        keys.compactMap { key -> String? in
            guard let comparison = key.outcome.comparison else { return nil }
            var parts = [HistogramRenderer.render(comparison.histogram, title: "\(key.key) A vs B", color: color)]
            if let truth = key.truth {
                parts.append(HistogramRenderer.render(truth.a.histogram, title: "\(key.key) A vs truth", color: color))
                parts.append(HistogramRenderer.render(truth.b.histogram, title: "\(key.key) B vs truth", color: color))
            }
            return parts.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Pretty-printed JSON with sorted keys; non-finite numbers as "nan"/"inf"/"-inf".
    public func json(command: String) throws -> String { try JSONReport.render(self, command: command) }
}
