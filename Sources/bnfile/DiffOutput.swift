import ArrayComparison
import NumPyFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `bnfile diff` prints. The library renders the table, the histograms, the summary
/// line and the JSON; this adds, one line per key, what the table has no room for (the
/// worst element's values, in the key's own format so they read as the user's array
/// does; NaN/Inf disagreements by kind; sign flips), then the tolerances and rounding
/// limits once each, with where they came from.
///
/// Histograms are printed for the keys that differ: that is where the shape of the
/// distribution tells a bug (the bulk moved) from one unlucky element (a thin tail).
/// For keys that agree they repeat the table, so they wait for `--histograms`.
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
        switch format {
        case .json: return try report.json()
        case .quiet: return forTerminal(report).summaryLine() + "\n"
        case .text(let color, let allHistograms):
            let report = forTerminal(report)
            var sections = [report.table(color: color)]
            let width = report.keys.map(\.key.count).max() ?? 0
            let details = report.keys.compactMap { detailLine($0, width: width) }
            if !details.isEmpty { sections.append(details.joined(separator: "\n") + "\n") }
            let sentences = VerdictSentences.render(report)
            if !sentences.isEmpty {
                sections.append((sentences + ChannelAccuracy.sentences(report.channels) + [VerdictSentences.legend])
                    .joined(separator: "\n") + "\n")
            }
            if !report.notes.isEmpty { sections.append(report.notes.map { "note: \($0)" }.joined(separator: "\n") + "\n") }
            let rules = toleranceLines(report) + limitLines(report)
            if !rules.isEmpty { sections.append(rules.joined(separator: "\n") + "\n") }
            let shown = allHistograms ? report.keys : report.differingKeys
            let histograms = DiffReport(fileA: report.fileA, fileB: report.fileB, keys: shown).histograms(color: color)
            if !histograms.isEmpty { sections.append(histograms) }
            sections.append(report.summaryLine() + "\n")
            return sections.joined(separator: "\n")
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

    /// nil for structural outcomes, which the table states in full.
    static func detailLine(_ key: KeyReport, width: Int) -> String? {
        guard let comparison = key.outcome.comparison else { return nil }
        let name = key.key.padding(toLength: width, withPad: " ", startingAt: 0)
        guard let worst = comparison.worst else {
            let nan = comparison.nonFinite.nanInBoth
            return "\(name)  identical" + (nan > 0 ? " (NaN in both \(nan), equal under --equal-nan)" : "")
        }
        let format = comparison.format
        var line = "\(name)  worst \(index(worst.index)): A \(value(worst.a, format)), B \(value(worst.b, format))"
        if let truth = worst.truth { line += ", truth \(value(truth, format))" }
        return line + "; NaN/Inf: \(nonFinite(comparison.nonFinite)); sign flips: \(comparison.signFlips)"
    }

    static func toleranceLines(_ report: DiffReport) -> [String] {
        grouped(report.keys.compactMap { key in
            key.outcome.comparison.map { c in
                (key.key, "rtol \(number(c.tolerance.rtol)), atol \(number(c.tolerance.atol)) (\(c.tolerance.source))")
            }
        }).map { "tolerance for \($0.keys): \($0.text)" }
    }

    static func limitLines(_ report: DiffReport) -> [String] {
        grouped(report.keys.compactMap { key in
            key.truth.map { t in
                (key.key, "\(number(t.threshold)) u*scale = \(t.thresholdRule) with M = \(t.valuesPerChannel); "
                    + "u = 2^\(t.unitRoundoff.exponent) (\(t.format.rawValue))")
            }
        }).map { "rounding limit for \($0.keys): \($0.text)" }
    }

    /// Keys sharing the same text, in first-appearance order: "out, dx: rtol ...".
    static func grouped(_ pairs: [(key: String, text: String)]) -> [(keys: String, text: String)] {
        var order: [String] = []
        var keys: [String: [String]] = [:]
        for (key, text) in pairs {
            if keys[text] == nil { order.append(text) }
            keys[text, default: []].append(key)
        }
        return order.map { (keys[$0]!.joined(separator: ", "), $0) }
    }

    static func nonFinite(_ counts: NonFiniteCounts) -> String {
        var kinds = [("NaN only in A", counts.nanInAOnly), ("NaN only in B", counts.nanInBOnly),
                     ("inf vs finite", counts.infVsFinite), ("+inf vs -inf", counts.infOppositeSign),
                     ("NaN in both", counts.nanInBoth)]
            .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        if counts.disagreements == 0 { kinds.insert("none", at: 0) }
        return kinds.joined(separator: ", ")
    }

    static func value(_ x: Double, _ format: FloatFormat) -> String { NumberText.value(x, in: format) }

    /// Three significant digits, integers as integers.
    static func number(_ x: Double) -> String {
        if x.isFinite && x == x.rounded() && abs(x) < 1e6 { return String(Int(x)) }
        return x.isFinite ? NumberText.printf("%.3g", x) : x.description
    }

    static func index(_ index: [Int]) -> String { NumberText.index(index) }
}
