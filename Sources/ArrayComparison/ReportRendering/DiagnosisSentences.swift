/// The line under a beyond-rounding side's sentence that names the mistake explaining
/// it: "dx (A): matches missing-dbeta-term: within 1.4 roundings of the exact dx without
/// the −dbeta term", with the other mistakes that fit too, best first.
public enum DiagnosisSentences {
    /// nil when no diagnosis ran for the side.
    public static func line(_ key: String, side: String, _ judged: SideJudgement) -> String? {
        guard let matches = judged.diagnosis else { return nil }
        guard let best = matches.first else { return "\(key) (\(side)): matches no mistake of the catalogue" }
        var line =
            "\(key) (\(side)): matches \(best.name): within \(NumberText.compact(best.fit)) roundings of "
            + best.detail
        let others = matches.dropFirst().map { match in
            match.name + (match.parameter.map { ", " + $0 } ?? "") + " (\(NumberText.compact(match.fit)))"
        }
        if !others.isEmpty { line += "; also within rounding of " + others.joined(separator: ", ") }
        return line
    }
}
