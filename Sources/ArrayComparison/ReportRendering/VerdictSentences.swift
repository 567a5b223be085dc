/// The report a person reads: one plain sentence per key and side, saying what the
/// verdict means, with the element behind it.
///
/// "dgamma: B is rounding noise: at most 1.2 roundings of its terms, 28 allowed; worst
/// at (0,): 1.4e-06 where the truth is exactly 0". The worst element is the one with the
/// largest error in u*scale, the one that decided the verdict, not the largest A/B
/// difference. No relative figure appears: against a truth of 0 it would be meaningless.
public enum VerdictSentences {
    /// What u*scale means, in one line, for the legend under the sentences.
    public static let legend =
        "u*scale: one rounding (u, the unit roundoff of the side's dtype) of the magnitudes "
        + "of every input and intermediate a value is computed from; a correct implementation stays within the limit"

    /// Every judged key's sentences, A's then B's, in the report's order, each followed
    /// by its diagnosis where one ran.
    public static func render(_ report: DiffReport) -> [String] {
        report.keys.flatMap { key -> [String] in
            guard let truth = key.truth else { return [] }
            return [sentence(key.key, side: "A", truth.a, truth: truth)]
                + [DiagnosisSentences.line(key.key, side: "A", truth.a)].compactMap { $0 }
                + [sentence(key.key, side: "B", truth.b, truth: truth)]
                + [DiagnosisSentences.line(key.key, side: "B", truth.b)].compactMap { $0 }
        }
    }

    static func sentence(_ key: String, side: String, _ judged: SideJudgement, truth: TruthJudgement) -> String {
        let limit = NumberText.compact(truth.threshold)
        let roundings = NumberText.compact(judged.maxError)
        switch judged.verdict {
        case .exact:
            return "\(key): \(side) is exact: every value is the truth rounded once to \(judged.format.rawValue)"
        case .withinRounding:
            return "\(key): \(side) is rounding noise: at most \(roundings) roundings of its terms, \(limit) allowed"
                + worst(judged)
        case .beyondRounding:
            return "\(key): \(side) is beyond rounding: \(roundings) roundings of its terms, \(limit) allowed; "
                + "a bug, or an algorithm unstable on these inputs" + worst(judged)
        }
    }

    static func worst(_ judged: SideJudgement) -> String {
        guard let element = judged.worst else { return "" }
        let truth = element.truth == 0 ? "exactly 0" : NumberText.value(element.truth, in: judged.format)
        return "; worst at \(NumberText.index(element.index)): \(NumberText.value(element.value, in: judged.format)) "
            + "where the truth is \(truth)"
    }
}

/// How well the data's format resolves one channel, for `bnfile diff --inputs`.
public struct ChannelAccuracy: Sendable, Codable, Equatable {
    public var channel: Int
    /// |mean|/std of the statistics used; infinite for a constant channel.
    public var meanOverStd: Double
    /// The largest error of `out` a correct implementation may make in this channel:
    /// the limit times u times out's largest scale there.
    public var outResolution: Double
    public var format: FloatFormat

    public init(channel: Int, meanOverStd: Double, outResolution: Double, format: FloatFormat) {
        self.channel = channel
        self.meanOverStd = meanOverStd
        self.outResolution = outResolution
        self.format = format
    }

    /// Channels whose |mean| is this many times their std or more are shown in the text
    /// report: from there on the format loses bits of every deviation.
    public static let illConditioned = 100.0

    /// "channel 0: |mean|/std = 1e+05; float32 resolves out here only to ±0.012".
    public var sentence: String {
        "channel \(channel): |mean|/std = \(NumberText.compact(meanOverStd)); \(format.rawValue) resolves out here "
            + "only to ±\(NumberText.compact(outResolution))"
    }

    /// The sentences for the ill-conditioned channels, at most `limit` of them, worst first.
    public static func sentences(_ channels: [ChannelAccuracy], limit: Int = 4) -> [String] {
        let shown = channels.filter { $0.meanOverStd >= illConditioned }.sorted { $0.meanOverStd > $1.meanOverStd }
        var lines = shown.prefix(limit).map(\.sentence)
        if shown.count > limit { lines.append("and \(shown.count - limit) more channels with |mean|/std >= 100") }
        return lines
    }
}
