/// How one side compares with the exact result.
public enum TruthVerdict: String, Sendable, Codable {
    /// Every element equals the truth (NaN where the truth is NaN counts as equal).
    case exact
    /// Some elements differ, none by more than rounding can explain.
    case withinRounding
    /// At least one element is off by more than the `RoundingThreshold`: a bug, or an
    /// algorithm that is numerically unstable on these inputs.
    case beyondRounding
}

/// One element of one side, measured against the truth.
public struct TruthElement: Sendable, Codable, Equatable {
    public var flatIndex: Int
    public var index: [Int]
    public var value: Double
    public var truth: Double
    public var scale: Double
    /// In units of u*scale; see `roundingError(value:truth:scale:unitRoundoff:)`.
    public var error: Double
}

/// The judgement of one side (A or B) of one key.
public struct SideJudgement: Sendable, Codable, Equatable {
    /// The format this side holds its values in, whose u is the unit of its errors.
    public var format: FloatFormat
    public var verdict: TruthVerdict
    public var maxError: Double
    /// The element with the largest error (earliest on ties); nil when exact.
    public var worst: TruthElement?
    public var topOffenders: [TruthElement]
    /// Errors in u*scale; `beyondLimit` counts elements above the threshold.
    public var histogram: ErrorHistogram
    /// The largest error in each channel (along the channel axis the caller gave; each
    /// element of a per-channel array is its own channel); empty without an axis.
    public var channelMaxError: [Double]
    /// For a side beyond rounding whose mistakes were looked for: the catalogue's
    /// mistakes it is within rounding of, best fit first (empty: none fits); nil when
    /// no diagnosis ran.
    public var diagnosis: [MistakeMatch]? = nil
}

/// Both sides of one key judged against the truth: the question is no longer "do A and
/// B agree?" but "is each of them as close to the exact answer as floating point allows?".
/// Two implementations can disagree by thousands of ulp and both be right (a cancelling
/// formula amplifies harmless rounding), or agree perfectly and both be wrong.
public struct TruthJudgement: Sendable, Codable, Equatable {
    public var format: FloatFormat
    public var unitRoundoff: Double
    public var valuesPerChannel: Int
    public var threshold: Double
    public var thresholdRule: String
    public var a: SideJudgement
    public var b: SideJudgement

    public var beyondRounding: Bool { a.verdict == .beyondRounding || b.verdict == .beyondRounding }

    /// - Parameters:
    ///   - truth: the exact values rounded once (to the data's format or wider).
    ///   - scale: per element, the sum of the magnitudes of the terms of the value.
    ///   - format: the format the compared data were computed in; its u is the unit.
    ///   - valuesPerChannel: M, the number of terms of the reductions (for the threshold).
    public static func judge(
        a: [Double], b: [Double], truth: [Double], scale: [Double], shape: [Int],
        format: FloatFormat, valuesPerChannel: Int,
        threshold: RoundingThreshold = .standard, topK: Int = 10
    ) -> TruthJudgement {
        judge(
            a: Side(values: a, format: format, truth: truth), b: Side(values: b, format: format, truth: truth),
            scale: scale, shape: shape, valuesPerChannel: valuesPerChannel, threshold: threshold, topK: topK)
    }

    /// One side's values, the format they are held in, and the truth rounded into it.
    public struct Side: Sendable {
        public var values: [Double]
        public var format: FloatFormat
        public var truth: [Double]

        public init(values: [Double], format: FloatFormat, truth: [Double]) {
            self.values = values
            self.format = format
            self.truth = truth
        }
    }

    /// Judges each side against the truth in its own format, with its own u: the
    /// notebook's float64 dx for float32 inputs is measured against the truth rounded to
    /// float64, in float64's roundings, not excused by float32's.
    public static func judge(
        a: Side, b: Side, scale: [Double], shape: [Int], valuesPerChannel: Int,
        threshold: RoundingThreshold = .standard, topK: Int = 10, channelAxis: Int? = nil, threads: Int = 1
    ) -> TruthJudgement {
        let total = elementCount(of: shape)
        precondition(
            [a.values.count, b.values.count, a.truth.count, b.truth.count, scale.count].allSatisfy { $0 == total },
            "judge: arrays of \(a.values.count), \(b.values.count) values for shape \(shape)")
        // A file judged against itself (bnfile check, `diff F F --inputs`): one pass.
        let same = a.format == b.format && a.values == b.values && a.truth == b.truth
        let truth = KeyScan.Truth(
            formatA: a.format, formatB: b.format, valuesPerChannel: valuesPerChannel,
            threshold: threshold)
        let scan = KeyScan(
            shape: shape, format: a.format, tolerance: Tolerance(rtol: 0, atol: 0, source: ""),
            channelAxis: nil, truthChannelAxis: channelAxis, equalNaN: false, topK: topK, truth: truth,
            sameSides: same, compares: false, identicalShortcut: true, threads: threads)
        let sources = KeyScan.Sources(
            a: ArrayBlocks(a.values), b: ArrayBlocks(b.values), truthA: ArrayBlocks(a.truth),
            truthB: ArrayBlocks(b.truth), scale: ArrayBlocks(scale))
        KeyScan.run([KeyScan.Part(scan: scan, range: 0..<total, sources: sources)], threads: threads)
        return scan.finishJudgement()!
    }

    /// One side alone, judged as `judge` judges each.
    static func judgeSide(
        _ values: [Double], truth: [Double], scale: [Double], shape: [Int],
        format: FloatFormat, limit: Double, topK: Int, channelAxis: Int? = nil, threads: Int = 1
    ) -> SideJudgement {
        let side = Side(values: values, format: format, truth: truth)
        return judge(
            a: side, b: side, scale: scale, shape: shape, valuesPerChannel: 1, threshold: .fixed(limit),
            topK: topK, channelAxis: channelAxis, threads: threads
        ).a
    }
}

extension TruthScan {
    /// The side's judgement, once every element was added.
    func judgement(shape: [Int], format: FloatFormat, topK: Int) -> SideJudgement {
        let elements = worst.sorted().map { ranked in
            TruthElement(
                flatIndex: ranked.flatIndex, index: multiIndex(ofFlat: ranked.flatIndex, shape: shape),
                value: ranked.values.a, truth: ranked.values.truthA, scale: ranked.values.scale, error: ranked.primary)
        }
        let verdict: TruthVerdict = allEqual ? .exact : (maxError <= limit ? .withinRounding : .beyondRounding)
        return SideJudgement(
            format: format, verdict: verdict, maxError: maxError, worst: elements.first,
            topOffenders: Array(elements.prefix(max(topK, 0))),
            histogram: histogram.histogram(unit: "u*scale", limitLabel: "beyond rounding"),
            channelMaxError: channelMax.values)
    }
}
