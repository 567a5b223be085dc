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

    /// How far this side's values of `key` are from a model's prediction, in u*scale
    /// (`ModelFit`), at the elements `indices` the prediction holds (nil: all); or, with
    /// `ofTruth`, how far the truth is from it: the model's visibility. nil for a key the
    /// side was not judged on.
    func distance(
        _ key: String, _ prediction: Prediction, at indices: [Int]? = nil, ofTruth: Bool = false,
        cap: Double = .infinity
    ) -> Double? {
        guard let exact = truths[key], let format = formats[key], let own = values[key] else { return nil }
        let values = ofTruth ? exact.values : own
        let scale = ModelFit.scale(prediction, truth: exact.scale)
        guard let indices else { return ModelFit.distance(values, prediction, scale: scale, format: format, cap: cap) }
        return ModelFit.distance(
            indices.map { values[$0] }, prediction, scale: indices.map { scale[$0] },
            format: format, cap: cap)
    }

    /// Whether a model fits the key within its limit and is visibly not the truth there.
    func names(_ key: String, _ prediction: Prediction) -> Bool {
        guard let limit = limit(key), let fit = distance(key, prediction, cap: limit), fit <= limit else {
            return false
        }
        return (distance(key, prediction, ofTruth: true, cap: limit) ?? 0) > limit
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
