/// One line per compared key below the table: the worst element with both values (and
/// the truth in truth mode), the NaN/Inf disagreements by kind and the sign flips.
///
///     dx      worst (0, 2, 1): A 0.25, B 0.5, truth 0.5; NaN/Inf: none; sign flips: 0
enum DetailLine {
    /// nil for structural outcomes, which the table states in full. `width` pads the key
    /// names so the lines align.
    static func render(_ key: KeyReport, width: Int) -> String? {
        guard let comparison = key.outcome.comparison else { return nil }
        let name = key.key + String(repeating: " ", count: max(0, width - key.key.count))
        guard let worst = comparison.worst else {
            let nan = comparison.nonFinite.nanInBoth
            return "\(name)  identical" + (nan > 0 ? " (NaN in both \(nan), equal under --equal-nan)" : "")
        }
        let format = comparison.format
        let value = { (x: Double) in NumberText.value(x, in: format) }
        var line = "\(name)  worst \(NumberText.index(worst.index)): A \(value(worst.a)), B \(value(worst.b))"
        if let truth = worst.truth { line += ", truth \(value(truth))" }
        return line + "; NaN/Inf: \(nonFinite(comparison.nonFinite)); sign flips: \(comparison.signFlips)"
    }

    /// "none", or each kind of disagreement with its count; NaN in both last.
    static func nonFinite(_ counts: NonFiniteCounts) -> String {
        var kinds = [
            ("NaN only in A", counts.nanInAOnly), ("NaN only in B", counts.nanInBOnly),
            ("inf vs finite", counts.infVsFinite), ("+inf vs -inf", counts.infOppositeSign),
            ("NaN in both", counts.nanInBoth),
        ]
        .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        if counts.disagreements == 0 { kinds.insert("none", at: 0) }
        return kinds.joined(separator: ", ")
    }
}
