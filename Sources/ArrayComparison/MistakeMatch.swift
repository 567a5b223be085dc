/// One mistake of the catalogue that explains a side judged beyond rounding: the
/// candidate is within rounding of what an implementation making that mistake produces.
///
/// The fit is measured exactly as the verdict is (the largest error in u*scale, the same
/// scales and the same limit), only against the mistake's values instead of the truth.
public struct MistakeMatch: Sendable, Codable, Equatable {
    /// The catalogue's name: "missing-dbeta-term", "wrong-eps", ...
    public var name: String
    /// The largest error against the mistake's values, in u*scale.
    public var fit: Double
    /// The mistake's parameter in words, where it has one: "eps ≈ 1e-3 instead of 1e-5",
    /// "float16", "factor 2", "per sample".
    public var parameter: String?
    /// The parameter's number, where it is one (an estimated eps, momentum or factor).
    public var value: Double?
    /// What the candidate was compared with: "the exact dx without the −dbeta term".
    public var detail: String

    public init(name: String, fit: Double, parameter: String? = nil, value: Double? = nil, detail: String) {
        self.name = name
        self.fit = fit
        self.parameter = parameter
        self.value = value
        self.detail = detail
    }
}
