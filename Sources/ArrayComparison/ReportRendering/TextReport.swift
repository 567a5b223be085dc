/// The full text report of a diff: the table, then one detail line per key with what the
/// table has no room for (the worst element's values, in the key's own format so they
/// read as the user's array does; NaN/Inf disagreements by kind; sign flips), the
/// verdict sentences with the channels' conditioning and the legend, the notes, the
/// tolerances and rounding limits once each with where they came from, the histograms
/// and the summary line.
///
/// Histograms are shown for the keys that differ: that is where the shape of the
/// distribution tells a bug (the bulk moved) from one unlucky element (a thin tail).
/// For keys that agree they repeat the table, so they wait for `allHistograms`.
enum TextReport {
    static func render(_ report: DiffReport, command: String, color: Bool, allHistograms: Bool) -> String {
        var sections = [report.table(color: color)]
        let width = report.keys.map(\.key.count).max() ?? 0
        let details = report.keys.compactMap { DetailLine.render($0, width: width) }
        if !details.isEmpty { sections.append(details.joined(separator: "\n") + "\n") }
        let sentences = VerdictSentences.render(report)
        if !sentences.isEmpty {
            sections.append(
                (sentences + ChannelAccuracy.sentences(report.channels) + [VerdictSentences.legend])
                    .joined(separator: "\n") + "\n")
        }
        if !report.notes.isEmpty { sections.append(report.notes.map { "note: \($0)" }.joined(separator: "\n") + "\n") }
        let rules = RuleLines.tolerances(report) + RuleLines.limits(report)
        if !rules.isEmpty { sections.append(rules.joined(separator: "\n") + "\n") }
        let shown = allHistograms ? report.keys : report.differingKeys
        let histograms = DiffReport(fileA: report.fileA, fileB: report.fileB, keys: shown).histograms(color: color)
        if !histograms.isEmpty { sections.append(histograms) }
        sections.append(SummaryLine.render(report, command: command) + "\n")
        return sections.joined(separator: "\n")
    }
}
