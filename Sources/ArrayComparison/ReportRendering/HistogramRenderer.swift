/// Text bars for an `ErrorHistogram`:
///
///     out: ulp distance, 1000 elements
///       exact     ####################  610
///       <= 1 ulp  ############........  380
///       <= 2 ulp  #...................   10
///       beyond tolerance: 0
enum HistogramRenderer {
    static let barWidth = 20

    static func render(_ histogram: ErrorHistogram, title: String, color: Bool) -> String {
        let style = TerminalStyle(enabled: color)
        let total = histogram.buckets.reduce(0) { $0 + $1.count } + histogram.nonFinite
        var rows = collapsed(histogram.buckets).map { bucket in
            (label(bucket, unit: histogram.unit), bucket.count)
        }
        if histogram.nonFinite > 0 { rows.append(("NaN/inf", histogram.nonFinite)) }
        let largest = max(rows.map(\.1).max() ?? 0, 1)
        let cells = rows.map { label, count in
            [StyledCell(label), StyledCell(bar(count, of: largest)), StyledCell(String(count))]
        }
        let tone: TerminalStyle.Tone = histogram.beyondLimit > 0 ? .bad : .good
        return style.apply(.heading, to: "\(title): \(histogram.unit), \(total) elements") + "\n"
            + renderColumns(cells, style: style).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
            + "\n  " + style.apply(tone, to: "\(histogram.limitLabel): \(histogram.beyondLimit)") + "\n"
    }

    /// Merges every run of two or more empty buckets after "exact" into one row: a
    /// gap between 2 ulp and 2^21 ulp is one fact ("nothing in between") and twenty
    /// rows of dots would push the informative rows off the screen.
    static func collapsed(_ buckets: [ErrorHistogram.Bucket]) -> [ErrorHistogram.Bucket] {
        var result: [ErrorHistogram.Bucket] = []
        var emptyRun: [ErrorHistogram.Bucket] = []
        func flushRun() {
            if emptyRun.count >= 2, let first = emptyRun.first, let last = emptyRun.last {
                result.append(.init(lowerBound: first.lowerBound, upperBound: last.upperBound, count: 0))
            } else {
                result += emptyRun
            }
            emptyRun = []
        }
        for (position, bucket) in buckets.enumerated() {
            if position > 0 && bucket.count == 0 {
                emptyRun.append(bucket)
            } else {
                flushRun()
                result.append(bucket)
            }
        }
        flushRun()
        return result
    }

    /// Any nonzero count gets at least one mark, so a single bad element is visible.
    static func bar(_ count: Int, of largest: Int) -> String {
        let filled = count == 0 ? 0 : max(1, Int((Double(count) / Double(largest) * Double(barWidth)).rounded()))
        return String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
    }

    static func label(_ bucket: ErrorHistogram.Bucket, unit: String) -> String {
        if bucket.upperBound == 0 { return "exact" }
        if bucket.upperBound.isInfinite { return "> \(power(bucket.lowerBound)) \(unit)" }
        // A merged run of empty buckets spans more than one doubling.
        let single = bucket.lowerBound == 0 ? bucket.upperBound <= 1 : bucket.upperBound <= 2 * bucket.lowerBound
        if !single {
            return "(\(power(bucket.lowerBound)), \(power(bucket.upperBound))] \(unit)"
        }
        return "<= \(power(bucket.upperBound)) \(unit)"
    }

    /// Powers of two as plain integers while short, as 2^k beyond a million.
    static func power(_ x: Double) -> String {
        x < 1_048_576 ? String(Int(x)) : "2^\(Int(x.exponent))"
    }
}
