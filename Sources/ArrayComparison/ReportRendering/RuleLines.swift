/// The rules a diff was judged by, each stated once for the keys that share it:
///
///     tolerance for out, dx: rtol 1.3e-06, atol 1e-05 (assert_close defaults for float32)
///     rounding limit for out, dx: 28 u*scale = ... with M = 280; u = 2^-24 (float32)
enum RuleLines {
    static func tolerances(_ report: DiffReport) -> [String] {
        grouped(
            report.keys.compactMap { key in
                key.outcome.comparison.map { c in
                    (
                        key.key,
                        "rtol \(number(c.tolerance.rtol)), atol \(number(c.tolerance.atol)) (\(c.tolerance.source))"
                    )
                }
            }
        ).map { "tolerance for \($0.keys): \($0.text)" }
    }

    static func limits(_ report: DiffReport) -> [String] {
        grouped(
            report.keys.compactMap { key in
                key.truth.map { t in
                    (
                        key.key,
                        "\(number(t.threshold)) u*scale = \(t.thresholdRule) with M = \(t.valuesPerChannel); "
                            + "u = 2^\(t.unitRoundoff.exponent) (\(t.format.rawValue))"
                    )
                }
            }
        ).map { "rounding limit for \($0.keys): \($0.text)" }
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

    /// Three significant digits, integers as integers.
    static func number(_ x: Double) -> String {
        if x.isFinite && x == x.rounded() && abs(x) < 1e6 { return String(Int(x)) }
        return x.isFinite ? NumberText.printf("%.3g", x) : x.description
    }
}
