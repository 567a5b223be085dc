/// Everything bnfile says about one key: the outcome of the A/B comparison and, in
/// `--inputs` mode, the judgement of both sides against the truth.
public struct KeyReport: Sendable, Codable, Equatable {
    public var key: String
    public var outcome: KeyOutcome
    public var truth: TruthJudgement?
    /// Whether this key makes the run fail. With a truth, A and B are allowed to
    /// disagree as long as both are within rounding of it (two correct implementations
    /// differ by their rounding); without one, the tolerance decides.
    public var differs: Bool

    /// - Parameter missingIsDifference: whether a key in one file only makes the files
    ///   differ (a key the caller required), or is only worth a note (a file's extras,
    ///   such as an exact result's `mean` beside torch's file).
    public init(key: String, outcome: KeyOutcome, truth: TruthJudgement? = nil, missingIsDifference: Bool = true) {
        self.key = key
        self.outcome = outcome
        self.truth = truth
        switch outcome {
        case .compared(let comparison):
            differs = truth.map(\.beyondRounding) ?? (comparison.verdict == .mismatch)
        case .onlyInA, .onlyInB:
            differs = missingIsDifference
        default:
            differs = true
        }
    }

    /// Compares A with B and, when a truth is given, judges both against it; the
    /// A/B offenders are then annotated with the truth and each side's error.
    ///
    /// A and B are compared on `format`'s grid (the looser of their formats when they
    /// differ); with a truth, each side is judged in its own format (`formatA`,
    /// `formatB`, default `format`) against the truth rounded into it (`truthB` for B,
    /// default `truth`).
    public static func compare(
        key: String, a: [Double], b: [Double], shape: [Int], format: FloatFormat,
        tolerance: Tolerance, channelAxis: Int? = 1, equalNaN: Bool = false, topK: Int = 10,
        truth: TruthInput? = nil, formatA: FloatFormat? = nil, formatB: FloatFormat? = nil, truthB: TruthInput? = nil
    ) -> KeyReport {
        var comparison = KeyComparison.compare(
            a, b, shape: shape, format: format, tolerance: tolerance,
            channelAxis: channelAxis, equalNaN: equalNaN, topK: topK)
        guard let truth else { return KeyReport(key: key, outcome: .compared(comparison)) }
        let truthB = truthB ?? truth
        let formatA = formatA ?? format, formatB = formatB ?? format
        let judgement = TruthJudgement.judge(
            a: .init(values: a, format: formatA, truth: truth.values),
            b: .init(values: b, format: formatB, truth: truthB.values), scale: truth.scale, shape: shape,
            valuesPerChannel: truth.valuesPerChannel, threshold: truth.threshold, topK: topK,
            channelAxis: shape.count == 1 ? 0 : channelAxis)
        let annotate = { (offender: Offender) -> Offender in
            var offender = offender
            let i = offender.flatIndex
            let error = { (v: Double, t: Double, f: FloatFormat) in
                roundingError(value: v, truth: t, scale: truth.scale[i],
                              unitRoundoff: f.unitRoundoff, subnormalStep: f.leastNonzeroMagnitude)
            }
            offender.truth = truth.values[i]
            offender.errorA = error(a[i], truth.values[i], formatA)
            offender.errorB = error(b[i], truthB.values[i], formatB)
            return offender
        }
        comparison.worst = comparison.worst.map(annotate)
        comparison.topOffenders = comparison.topOffenders.map(annotate)
        return KeyReport(key: key, outcome: .compared(comparison), truth: judgement)
    }
}

/// The truth for one key, as the exact engine provides it.
public struct TruthInput: Sendable {
    public var values: [Double]
    public var scale: [Double]
    public var valuesPerChannel: Int
    public var threshold: RoundingThreshold

    public init(values: [Double], scale: [Double], valuesPerChannel: Int,
                threshold: RoundingThreshold = .standard) {
        self.values = values
        self.scale = scale
        self.valuesPerChannel = valuesPerChannel
        self.threshold = threshold
    }
}
