import ArrayComparison

/// One side (A or B) of a diff, as a diagnosis needs it: every judged key's values, the
/// format they are held in, the truth rounded into that format with its scales, and the
/// keys judged beyond rounding.
public struct DiagnosisSide {
    public var values: [String: [Double]] = [:]
    public var formats: [String: FloatFormat] = [:]
    public var truths: [String: TruthInput] = [:]
    public var beyond: Set<String> = []

    public init() {}

    public mutating func add(key: String, values: [Double], format: FloatFormat, truth: TruthInput, beyond: Bool) {
        self.values[key] = values
        formats[key] = format
        truths[key] = truth
        if beyond { self.beyond.insert(key) }
    }

    /// The limit of a key's verdict, in u*scale.
    func limit(_ key: String) -> Double? {
        truths[key].map { $0.threshold.limit(valuesPerChannel: $0.valuesPerChannel) }
    }

    /// The u an implementation works in for this side: float32's for float16 and
    /// bfloat16 results (computed in float32, as torch does), else the results' own.
    var workingUnitRoundoff: Double {
        let format = formats["out"] ?? formats["dx"] ?? .float32
        return format.precision < FloatFormat.float32.precision ? FloatFormat.float32.unitRoundoff : format.unitRoundoff
    }

    /// Whether any judged key is held in float64, which needs the models in Float80.
    var needsExtendedPrecision: Bool { formats.values.contains(.float64) }
}
