import ArrayComparison

/// reduced-precision, float32 throughout: a float64 layer computed in float32 and
/// stored as float64 (JAX's default dtype under Keras). Such a result errs by float32's
/// rounding, in no direction a formula could predict, so its model is the truth with an
/// interval of limit*u_32*scale per element (a correct float32 evaluation's allowance).
/// That interval holds the truth, so the model cannot be told from the truth by its
/// values; it is told by a fingerprint of the side instead: every value of the key is a
/// float32 number, which a float64 computation almost never produces (and the truth is
/// not). It is named when the side fits the interval and bears the fingerprint.
enum StoredPrecisionModel {
    static func models(_ side: DiagnosisSide) -> [MistakeModel] {
        side.beyond.sorted().compactMap { key -> MistakeModel? in
            guard side.formats[key] == .float64, let values = side.values[key], let exact = side.truths[key],
                fingerprint(values), !fingerprint(exact.values), let limit = side.limit(key)
            else { return nil }
            let allowance = limit * FloatFormat.float32.unitRoundoff
            let prediction = Prediction(values: exact.values, width: exact.scale.map { allowance * $0 })
            let roundings = ModelFit.distance(
                values, Prediction(values: exact.values), scale: exact.scale,
                format: .float32)
            let detail =
                "the exact \(key) computed in float32 and stored as float64 (it errs by "
                + "\(NumberText.compact(roundings)) float32 roundings)"
            return MistakeModel(
                mistake: .reducedPrecision, parameter: "float32 throughout", detail: { _ in detail },
                predictions: [key: prediction], fingerprinted: true)
        }
    }

    /// Every value is a float32 number (NaN and infinities included as such).
    static func fingerprint(_ values: [Double]) -> Bool {
        values.allSatisfy { !$0.isFinite || Double(Float($0)) == $0 }
    }
}
