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
        truth: TruthInput? = nil, formatA: FloatFormat? = nil, formatB: FloatFormat? = nil, truthB: TruthInput? = nil,
        threads: Int = 1
    ) -> KeyReport {
        let total = elementCount(of: shape)
        precondition(
            a.count == total && b.count == total,
            "compare: \(a.count) and \(b.count) values for shape \(shape) (\(total) elements)")
        let judged = truth.map {
            KeyScan.Truth(
                formatA: formatA ?? format, formatB: formatB ?? format, valuesPerChannel: $0.valuesPerChannel,
                threshold: $0.threshold)
        }
        let scan = KeyScan(
            shape: shape, format: format, tolerance: tolerance, channelAxis: channelAxis,
            equalNaN: equalNaN, topK: topK, truth: judged, threads: threads)
        let sources = KeyScan.Sources(
            a: ArrayBlocks(a), b: ArrayBlocks(b), truthA: truth.map { ArrayBlocks($0.values) },
            truthB: ArrayBlocks((truthB ?? truth)?.values ?? []),
            scale: truth.map { ArrayBlocks($0.scale) })
        KeyScan.run([KeyScan.Part(scan: scan, range: 0..<total, sources: sources)], threads: threads)
        return scan.finish(key: key)
    }
}

/// The truth for one key, as the exact engine provides it.
public struct TruthInput: Sendable {
    public var values: [Double]
    public var scale: [Double]
    public var valuesPerChannel: Int
    public var threshold: RoundingThreshold

    public init(
        values: [Double], scale: [Double], valuesPerChannel: Int,
        threshold: RoundingThreshold = .standard
    ) {
        self.values = values
        self.scale = scale
        self.valuesPerChannel = valuesPerChannel
        self.threshold = threshold
    }
}
