import ArrayComparison

/// What to check when a side is beyond rounding, from the shape of its errors: a verdict
/// says something is wrong, a hint says where users usually find it.
///
/// - Three keys or more beyond, every one by ten thousand roundings or more: the values
///   belong to another problem, most often the other mode or layout.
/// - dgamma and dbeta both an integer multiple (2, 3, ...) of the truth: gradients
///   accumulated over that many steps (zero_grad forgotten).
/// - A side that records its settings (a file bnfile or an exporter wrote) and is
///   beyond: the settings to compare with the ones the truth used.
enum DiffHints {
    static func hints(_ reports: [KeyReport], multiples: [String: (a: Int?, b: Int?)], recorded: (a: Bool, b: Bool))
        -> [String]
    {
        var hints: [String] = []
        for (side, pick) in [("A", \TruthJudgement.a), ("B", \TruthJudgement.b)] {
            let judged = reports.compactMap { $0.truth?[keyPath: pick] }
            guard judged.contains(where: { $0.verdict == .beyondRounding }) else { continue }
            let beyond = judged.filter { $0.verdict == .beyondRounding }
            if beyond.count >= 3, beyond.allSatisfy({ $0.maxError >= 1e4 }) {
                hints.append(
                    "\(beyond.count) keys of \(side) are off by ten thousand roundings or more: check the mode "
                        + "(--eval or --train) and the layout (--layout), or whether these are its inputs")
            }
            let factors = ["dgamma", "dbeta"].compactMap { multiples[$0].flatMap { side == "A" ? $0.a : $0.b } }
            if factors.count == 2, factors[0] == factors[1], factors[0] >= 2 {
                hints.append(
                    "dgamma and dbeta of \(side) are \(factors[0]) times the truth: gradients accumulated "
                        + "over \(factors[0]) steps (zero_grad forgotten)?")
            }
            if side == "A" ? recorded.a : recorded.b {
                hints.append(
                    "\(side) records its settings; if it was made with others than the truth's, "
                        + "give them: --eval, --eps, --momentum, --layout, --framework")
            }
        }
        return hints
    }

    /// For dgamma and dbeta when judged: the multiple of the truth each side is, if any.
    static func gradientMultiples(_ pairs: [DiffValues], truth: DiffTruth) throws -> [String: (a: Int?, b: Int?)] {
        var multiples: [String: (a: Int?, b: Int?)] = [:]
        for pair in pairs where pair.isFloat && (pair.key == "dgamma" || pair.key == "dbeta") {
            guard let a = try truth.truth(for: pair.key, shape: pair.shape, format: pair.formatA),
                let b = try truth.truth(for: pair.key, shape: pair.shape, format: pair.formatB)
            else { continue }
            multiples[pair.key] = (
                multiple(values: try pair.valuesA(), truth: a, format: pair.formatA),
                multiple(values: try pair.valuesB(), truth: b, format: pair.formatB)
            )
        }
        return multiples
    }

    /// The integer k in 2...8 with every value within rounding of k times the truth, if any.
    static func multiple(values: [Double], truth: TruthInput, format: FloatFormat) -> Int? {
        guard values.count == truth.values.count, truth.values.contains(where: { $0 != 0 }) else { return nil }
        let limit = truth.threshold.limit(valuesPerChannel: truth.valuesPerChannel)
        return (2...8).first { k in
            values.indices.allSatisfy { i in
                roundingError(
                    value: values[i], truth: Double(k) * truth.values[i], scale: Double(k) * truth.scale[i],
                    unitRoundoff: format.unitRoundoff) <= limit
            }
        }
    }
}
