/// The human report: one row per key, the figures someone scanning for "which array is
/// wrong, where, by how much" reads first. Details live in the JSON and the histograms.
enum TableRenderer {
    static func render(_ report: DiffReport, color: Bool) -> String {
        let style = TerminalStyle(enabled: color)
        let truthMode = report.mode == "truth"
        var header = ["key", "verdict", "mismatched", "max abs", "max rel", "max ulp", "worst at", "worst ch"]
        if truthMode { header += ["A vs truth", "B vs truth"] }
        var rows = [header.map { StyledCell($0, .heading) }]
        for key in report.keys {
            rows.append(row(for: key, truthMode: truthMode))
        }
        return renderColumns(rows, style: style)
    }

    static func row(for key: KeyReport, truthMode: Bool) -> [StyledCell] {
        guard let comparison = key.outcome.comparison else {
            return [StyledCell(key.key), StyledCell(key.outcome.structuralDescription ?? "", .warning)]
        }
        var cells = [
            StyledCell(key.key),
            StyledCell(comparison.verdict.rawValue, comparison.verdict == .match ? .good : .bad),
            StyledCell(
                "\(comparison.mismatched)/\(comparison.total) (\(NumberText.percent(comparison.mismatchedPercent)))"),
            StyledCell(NumberText.compact(comparison.maxAbsoluteDifference)),
            StyledCell(comparison.maxRelativeDifference.map(NumberText.compact) ?? "-"),
            StyledCell(NumberText.count(comparison.maxULPDistance)),
            StyledCell(comparison.worst.map { NumberText.index($0.index) } ?? "-"),
            StyledCell(comparison.worstChannel.map(String.init) ?? "-"),
        ]
        if truthMode {
            cells += [key.truth?.a, key.truth?.b].map { side in
                guard let side else { return StyledCell("-") }
                return judgementCell(side)
            }
        }
        return cells
    }

    static func judgementCell(_ side: SideJudgement) -> StyledCell {
        switch side.verdict {
        case .exact: StyledCell("exact", .good)
        case .withinRounding: StyledCell("within (\(NumberText.compact(side.maxError)))", .good)
        case .beyondRounding: StyledCell("BEYOND (\(NumberText.compact(side.maxError)))", .bad)
        }
    }
}
