import ArrayComparison

/// How well values fit a model's prediction, measured as the verdict measures them
/// against the truth: the largest error in u*scale (`roundingError`), with u the values'
/// format and the same scales. A model with widths is an interval per element; the
/// error is then the distance to the nearest point of the interval.
enum ModelFit {
    /// The error scale to judge with: the truth's, or, for a model with its own (an engine
    /// run of other settings), the larger of the two at each element, so that a model is
    /// never judged more strictly than the truth is.
    static func scale(_ prediction: Prediction, truth: [Double]) -> [Double] {
        guard let own = prediction.scale, own.count == truth.count else { return truth }
        return zip(own, truth).map { max($0, $1) }
    }

    /// The largest error of `values` against `prediction`, in u*scale of `format`; or,
    /// once some error exceeds `cap`, that error (a lower bound of the largest): a model
    /// beyond the limit needs no more than that said of it.
    static func distance(
        _ values: [Double], _ prediction: Prediction, scale: [Double], format: FloatFormat,
        cap: Double = .infinity
    ) -> Double {
        guard values.count == prediction.values.count, scale.count == values.count else { return .infinity }
        let u = format.unitRoundoff, step = format.leastNonzeroMagnitude
        var worst = 0.0
        for i in values.indices where worst <= cap {
            var nearest = prediction.values[i]
            if let width = prediction.width?[i], width > 0, values[i].isFinite {
                nearest += min(max(values[i] - nearest, -width), width)
            }
            let error = roundingError(
                value: values[i], truth: nearest, scale: scale[i], unitRoundoff: u,
                subnormalStep: step)
            worst = max(worst, error.isNaN ? .infinity : error)
        }
        return worst
    }
}
