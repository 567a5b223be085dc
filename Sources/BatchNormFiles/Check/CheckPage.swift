import ArrayComparison
import RealModule

/// `bnfile check --html`: one self-contained page (no script, no network, no external
/// asset) with the layer table coloured by verdict and, for every layer and key, two
/// inline SVG plots: the histogram of errors in u*scale against the rounding limit, and
/// each channel's worst error on a log scale against the same limit.
public enum CheckPage {
    /// The page of `report`, titled with `command`, the name of the command that wrote it.
    public static func render(_ report: CheckReport, command: String) -> String {
        var page =
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<title>\(escape(command))</title><style>\(style)</style></head><body>\n"
        page +=
            "<h1>\(escape(command))</h1>\n<p class=\"summary\">\(escape(report.summaryLine(command: command)))</p>\n"
        page +=
            "<p class=\"legend\">\(escape(VerdictSentences.legend)). Cells: exact, the largest error in u*scale "
            + "when within rounding, BEYOND when beyond it.</p>\n"
        page += table(report) + "\n"
        for check in report.layers { page += layerSection(check, report: report) }
        return page + "</body></html>\n"
    }

    static let style = """
        body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
        td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px;text-align:right}\
        th{background:#eee}td.name{text-align:left}.exact{background:#b7e4b7}.within{background:#dff3d8}\
        .beyond{background:#f4a6a6;font-weight:bold}.trouble{background:#f6d58e}\
        section{margin-top:1.5em}figure{display:inline-block;margin:0 1em 1em 0}\
        figcaption{font-size:12px}svg text{font-size:10px}
        """

    static func table(_ report: CheckReport) -> String {
        var html =
            "<table id=\"layers\"><tr><th>layer</th>" + (report.hasCandidate ? "<th>side</th>" : "")
            + CheckReport.columns.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for check in report.layers {
            for (label, judged, trouble) in check.rows(referenceName: report.referenceName) {
                html +=
                    "<tr><td class=\"name\"><a href=\"#\(anchor(check.layer.name))\">\(escape(check.layer.name))</a></td>"
                    + (report.hasCandidate ? "<td class=\"name\">\(escape(label))</td>" : "")
                if let trouble {
                    html +=
                        "<td class=\"trouble\" colspan=\"\(CheckReport.columns.count)\">\(escape(trouble))</td></tr>\n"
                    continue
                }
                html +=
                    CheckReport.columns.map { name in
                        let key = judged?.keys.first { $0.key == name }
                        if let key, key.differs, key.truth == nil {
                            return "<td class=\"beyond\">\(escape(key.outcome.structuralDescription ?? "differs"))</td>"
                        }
                        return cell(key?.truth?.a)
                    }.joined() + "</tr>\n"
            }
        }
        return html + "</table>"
    }

    static func cell(_ judged: SideJudgement?) -> String {
        guard let judged else { return "<td>-</td>" }
        switch judged.verdict {
        case .exact: return "<td class=\"exact\">exact</td>"
        case .withinRounding: return "<td class=\"within\">\(NumberText.compact(judged.maxError))</td>"
        case .beyondRounding: return "<td class=\"beyond\">BEYOND \(NumberText.compact(judged.maxError))</td>"
        }
    }

    static func layerSection(_ check: LayerCheck, report: CheckReport) -> String {
        var html = "<section id=\"\(anchor(check.layer.name))\"><h2>\(escape(check.layer.name))</h2>\n"
        for (label, diff, _) in check.rows(referenceName: report.referenceName) {
            for key in diff?.keys ?? [] {
                guard let truth = key.truth else { continue }
                let judged = truth.a
                let title = "\(key.key), \(label)"
                html += figure(
                    histogramPlot(judged.histogram, limit: truth.threshold), caption: "\(title): errors in u*scale")
                if judged.channelMaxError.count > 1 {
                    html += figure(
                        channelPlot(judged.channelMaxError, limit: truth.threshold),
                        caption: "\(title): worst error per channel")
                }
            }
        }
        return html + "</section>\n"
    }

    static func figure(_ svg: String, caption: String) -> String {
        "<figure>\(svg)<figcaption>\(escape(caption))</figcaption></figure>\n"
    }

    static let width = 260.0, height = 110.0, margin = 24.0

    /// Bars per log2 bucket (exact, (0,1], (1,2], (2,4], ...), coloured by whether the
    /// bucket lies beyond the limit, with the limit drawn as a vertical line.
    static func histogramPlot(_ histogram: ErrorHistogram, limit: Double) -> String {
        let buckets = histogram.buckets
        let peak = Double(buckets.map(\.count).max() ?? 1)
        // The bucket (2^(j-2), 2^(j-1)] holding the limit, so the line shows even when
        // every error is far below it.
        let limitBucket = Int((Double.log2(max(limit, 1))).rounded(.up)) + 1
        let slot = (width - margin) / Double(max(buckets.count, limitBucket + 2))
        var svg = svgOpen()
        for (i, bucket) in buckets.enumerated() {
            let h = peak > 0 ? (height - margin) * Double(bucket.count) / peak : 0
            let beyond = bucket.lowerBound >= limit
            svg +=
                "<rect x=\"\(f(margin + Double(i) * slot))\" y=\"\(f(height - margin - h))\" width=\"\(f(max(slot - 1, 1)))\" "
                + "height=\"\(f(h))\" fill=\"\(beyond ? "#c0392b" : "#4a9c5d")\"/>"
        }
        svg += limitLine(x: margin + Double(limitBucket + 1) * slot, label: "limit \(NumberText.compact(limit))")
        return svg + axisLabels(left: "\(Int(peak))", bottom: "log2 buckets of u*scale") + "</svg>"
    }

    /// Each channel's worst error as a point on a log10 axis, the limit as a line.
    static func channelPlot(_ errors: [Double], limit: Double) -> String {
        let logs = errors.map { Double.log10(max($0, 1e-3)) }
        let top = max(logs.max() ?? 0, Double.log10(limit)) + 0.5, bottom = -3.0
        let y = { (v: Double) in height - margin - (height - margin) * (v - bottom) / (top - bottom) }
        let step = (width - margin) / Double(max(errors.count, 1))
        var svg = svgOpen()
        for (c, value) in logs.enumerated() {
            let beyond = errors[c] > limit
            svg +=
                "<circle cx=\"\(f(margin + (Double(c) + 0.5) * step))\" cy=\"\(f(y(value)))\" r=\"2\" "
                + "fill=\"\(beyond ? "#c0392b" : "#2c6fbb")\"/>"
        }
        let limitY = y(Double.log10(limit))
        svg +=
            "<line x1=\"\(f(margin))\" y1=\"\(f(limitY))\" x2=\"\(f(width))\" y2=\"\(f(limitY))\" stroke=\"#c0392b\" stroke-dasharray=\"4 2\"/>"
        return svg + axisLabels(left: "1e\(Int(top.rounded(.down)))", bottom: "channel") + "</svg>"
    }

    static func svgOpen() -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\"><rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>"
            + "<line x1=\"\(f(margin))\" y1=\"\(f(height - margin))\" x2=\"\(f(width))\" y2=\"\(f(height - margin))\" stroke=\"#555\"/>"
    }

    static func limitLine(x: Double, label: String) -> String {
        "<line x1=\"\(f(x))\" y1=\"0\" x2=\"\(f(x))\" y2=\"\(f(height - margin))\" stroke=\"#c0392b\" stroke-dasharray=\"4 2\"/>"
            + "<text x=\"\(f(min(x + 2, width - 60)))\" y=\"10\" fill=\"#c0392b\">\(escape(label))</text>"
    }

    static func axisLabels(left: String, bottom: String) -> String {
        "<text x=\"2\" y=\"10\">\(escape(left))</text><text x=\"\(f(margin))\" y=\"\(f(height - 8))\">\(escape(bottom))</text>"
    }

    static func f(_ x: Double) -> String { NumberText.printf("%.1f", x) }

    static func anchor(_ name: String) -> String {
        "layer-"
            + String(
                name.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) ? Character($0) : "-" }
            )
    }

    /// Text and attribute values: &, <, >, " escaped, so a layer or file name is shown as
    /// itself and can never open a tag.
    public static func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
