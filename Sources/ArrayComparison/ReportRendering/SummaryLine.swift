/// The one line `--quiet` prints: enough to know whether to look further and where.
/// It starts with the name of the command that printed it.
///
///     bnfile diff: 2 of 5 keys differ (dgamma: 2/3 mismatched, max 512 ulp; out: only in A)
enum SummaryLine {
    static func render(_ report: DiffReport, command: String) -> String {
        let differing = report.differingKeys
        let head = "\(command): \(differing.count) of \(report.keys.count) keys differ"
        guard !differing.isEmpty else { return head }
        return head + " (" + differing.map(describe).joined(separator: "; ") + ")"
    }

    static func describe(_ key: KeyReport) -> String {
        if let structural = key.outcome.structuralDescription { return "\(key.key): \(structural)" }
        if let truth = key.truth {
            let sides = [("A", truth.a), ("B", truth.b)].filter { $0.1.verdict == .beyondRounding }
            let names = sides.map(\.0).joined(separator: " and ")
            let worst = sides.map(\.1.maxError).max() ?? 0
            return "\(key.key): \(names) beyond rounding "
                + "(max \(NumberText.compact(worst)) u*scale > \(NumberText.compact(truth.threshold)))"
        }
        guard let comparison = key.outcome.comparison else { return key.key }
        var text = "\(key.key): \(comparison.mismatched)/\(comparison.total) mismatched"
        if comparison.maxULPDistance > 0 { text += ", max \(comparison.maxULPDistance) ulp" }
        let nonFinite =
            comparison.nonFinite.disagreements
            + (comparison.equalNaN ? 0 : comparison.nonFinite.nanInBoth)
        if nonFinite > 0 { text += ", \(nonFinite) NaN/inf" }
        return text
    }
}
