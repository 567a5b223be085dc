/// The verdict of a plain A-versus-B comparison under a tolerance.
public enum Verdict: String, Sendable, Codable {
    case match
    case mismatch
}

/// One element singled out for the report: where it is, its two values, the figures the
/// scan computed for it (`ElementFigures`, the one source of every per-element figure)
/// and, in truth mode, the truth and each side's error.
///
/// The JSON keeps one flat object per element: the figures' fields (kind, matches,
/// absoluteDifference, relativeDifference, ulpDistance, excess) sit beside flatIndex,
/// index, a and b, as they always have.
public struct Offender: Sendable, Codable, Equatable {
    public var flatIndex: Int
    public var index: [Int]
    public var a: Double
    public var b: Double
    public var figures: ElementFigures
    /// Filled in only in truth mode: the exact value and each side's error in u*scale.
    public var truth: Double?
    public var errorA: Double?
    public var errorB: Double?

    public init(
        flatIndex: Int, index: [Int], a: Double, b: Double, figures: ElementFigures,
        truth: Double? = nil, errorA: Double? = nil, errorB: Double? = nil
    ) {
        self.flatIndex = flatIndex
        self.index = index
        self.a = a
        self.b = b
        self.figures = figures
        self.truth = truth
        self.errorA = errorA
        self.errorB = errorB
    }

    private enum CodingKeys: String, CodingKey { case flatIndex, index, a, b, truth, errorA, errorB }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        flatIndex = try container.decode(Int.self, forKey: .flatIndex)
        index = try container.decode([Int].self, forKey: .index)
        a = try container.decode(Double.self, forKey: .a)
        b = try container.decode(Double.self, forKey: .b)
        figures = try ElementFigures(from: decoder)
        truth = try container.decodeIfPresent(Double.self, forKey: .truth)
        errorA = try container.decodeIfPresent(Double.self, forKey: .errorA)
        errorB = try container.decodeIfPresent(Double.self, forKey: .errorB)
    }

    /// The figures are encoded into the same object as the position and the values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(flatIndex, forKey: .flatIndex)
        try container.encode(index, forKey: .index)
        try container.encode(a, forKey: .a)
        try container.encode(b, forKey: .b)
        try container.encodeIfPresent(truth, forKey: .truth)
        try container.encodeIfPresent(errorA, forKey: .errorA)
        try container.encodeIfPresent(errorB, forKey: .errorB)
        try figures.encode(to: encoder)
    }
}

/// Counts of disagreements that a difference cannot express. Each one is a mismatch
/// except `nanInBoth`, which matches when the caller asked for `equalNaN`.
public struct NonFiniteCounts: Sendable, Codable, Equatable {
    public var nanInAOnly = 0
    public var nanInBOnly = 0
    public var nanInBoth = 0
    public var infVsFinite = 0
    public var infOppositeSign = 0

    public init() {}

    /// Disagreements only (NaN in both sides is agreement of a kind, counted apart).
    public var disagreements: Int { nanInAOnly + nanInBOnly + infVsFinite + infOppositeSign }

    /// Counts one non-finite pair; finite pairs and equal infinities are not counted.
    mutating func count(_ kind: PairKind) {
        switch kind {
        case .finite, .sameInfinity: break
        case .bothNaN: nanInBoth += 1
        case .nanInAOnly: nanInAOnly += 1
        case .nanInBOnly: nanInBOnly += 1
        case .infVsFinite: infVsFinite += 1
        case .infOppositeSign: infOppositeSign += 1
        }
    }
}

/// Figures for one slice along the channel axis. Batch-norm bugs are very often
/// per-channel (a wrong gamma index, a stride error, a reduction over the wrong axis),
/// and they announce themselves as one channel holding all the mismatches.
public struct ChannelSummary: Sendable, Codable, Equatable {
    public var channel: Int
    public var count: Int
    public var mismatched: Int
    /// Over finite pairs; 0 when there are none.
    public var maxAbsoluteDifference: Double
    public var maxULPDistance: UInt64
    /// Largest `excess` in the channel: the ranking key after the mismatch count.
    public var maxExcess: Double
}

/// Everything a plain comparison of one key found.
public struct KeyComparison: Sendable, Codable, Equatable {
    public var shape: [Int]
    public var format: FloatFormat
    public var tolerance: Tolerance
    public var equalNaN: Bool
    public var verdict: Verdict
    public var total: Int
    public var mismatched: Int
    /// 100 * mismatched / total; 0 for an empty array.
    public var mismatchedPercent: Double
    /// The greatest-difference figures are taken over pairs where both sides are
    /// finite: an infinity or a NaN would swamp them, and those pairs are counted
    /// in `nonFinite` instead, where they are more informative.
    public var maxAbsoluteDifference: Double
    /// Over elements whose reference has full relative precision (|b| at least the
    /// format's smallest normal); nil when there is none, as for a gradient that is
    /// exactly zero: a relative figure against zero (numpy's "max rel 4.27e+31") says
    /// nothing, so none is given, and `atol` and the truth judge those elements.
    public var maxRelativeDifference: Double?
    /// Read together with the absolute difference: the grid is densest near zero, so
    /// 1e-8 against 0 is hundreds of millions of float32 ulp while being pure noise.
    /// That is why the verdict comes from the tolerance, never from ulp counts.
    public var maxULPDistance: UInt64
    /// The element with the largest excess over its tolerance (ties: larger ULP
    /// distance, then earlier position). nil only when every element is identical.
    public var worst: Offender?
    /// The resolved channel axis, nil when there is no per-channel breakdown.
    public var channelAxis: Int?
    public var channels: [ChannelSummary]
    /// Most mismatches, then largest excess, then lowest channel; nil without a
    /// breakdown or when nothing differs.
    public var worstChannel: Int?
    public var nonFinite: NonFiniteCounts
    /// Finite, nonzero a and b of opposite sign. Rare as rounding noise (it needs a
    /// value within a few ulp of zero), common as a bug (a subtraction the wrong way
    /// round, a missing negation in a gradient), so it gets its own count.
    public var signFlips: Int
    /// The worst `topK` elements with a nonzero difference, worst first. Matching
    /// elements appear when fewer than `topK` elements mismatch: seeing how close the
    /// next ones are is what tells a borderline tolerance from a real bug.
    public var topOffenders: [Offender]
    /// ULP distances of finite pairs; `beyondLimit` counts mismatches.
    public var histogram: ErrorHistogram
}
