/// The binary floating-point formats whose arrays bnfile compares.
///
/// Values always travel as `Double`. That is lossless for every format listed here
/// (each one's significand and exponent range fit inside binary64), so the format is
/// needed only to answer "how fine is the grid these numbers live on?": the unit
/// roundoff that scales rounding-error bounds, the smallest normal that keeps relative
/// differences finite near zero, and the bit layout that ULP distances count in.
public enum FloatFormat: String, Sendable, Codable, CaseIterable {
    case float16
    case bfloat16
    case float32
    case float64

    /// Significand bits including the implicit leading one (IEEE 754's `p`).
    public var precision: Int {
        switch self {
        case .float16: 11
        case .bfloat16: 8
        case .float32: 24
        case .float64: 53
        }
    }

    /// Width of the biased exponent field.
    public var exponentBits: Int {
        switch self {
        case .float16: 5
        case .bfloat16, .float32: 8
        case .float64: 11
        }
    }

    /// Largest unbiased exponent of a finite value.
    public var maximumExponent: Int { (1 << (exponentBits - 1)) - 1 }

    /// Exponent of the smallest normal value (`1 - emax` in IEEE 754).
    public var minimumExponent: Int { 1 - maximumExponent }

    /// u = 2^-p: the largest relative error of one correctly rounded operation
    /// (round to nearest), i.e. half the gap between 1 and the next value.
    /// Every error bound in this library is a multiple of it.
    public var unitRoundoff: Double { Double(sign: .plus, exponent: -precision, significand: 1) }

    /// 2^emin. Below it the grid stops shrinking with the value (subnormals are evenly
    /// spaced), so relative error stops being meaningful there; this is the floor used
    /// for the denominator of relative differences.
    public var smallestNormal: Double { Double(sign: .plus, exponent: minimumExponent, significand: 1) }

    /// The smallest positive subnormal, 2^(emin - p + 1): the grid spacing near zero.
    public var leastNonzeroMagnitude: Double {
        Double(sign: .plus, exponent: minimumExponent - precision + 1, significand: 1)
    }

    /// (2 - 2^(1-p)) * 2^emax.
    public var greatestFiniteMagnitude: Double {
        let fraction = 2 - Double(sign: .plus, exponent: 1 - precision, significand: 1)
        return Double(sign: .plus, exponent: maximumExponent, significand: fraction)
    }

    /// The gap between `x` and the next larger-magnitude value of this format, with the
    /// same convention as Swift's `Double.ulp` (at a power of two it is the gap above).
    /// NaN for non-finite `x`.
    public func ulp(of x: Double) -> Double {
        guard x.isFinite else { return .nan }
        let magnitude = abs(x)
        if magnitude < smallestNormal { return leastNonzeroMagnitude }
        return Double(sign: .plus, exponent: magnitude.exponent - (precision - 1), significand: 1)
    }

    /// The numpy `descr` strings that denote this format. bfloat16 has none of its own:
    /// ml_dtypes saves it as `<V2`, which is any two-byte blob, so guessing bfloat16 from
    /// it would be exactly the silent dtype guess that produces garbage. The name
    /// `bfloat16` is accepted instead, for callers that learn the type some other way.
    public var numpyDescrs: [String] {
        switch self {
        case .float16: ["<f2", ">f2", "|f2", "=f2", "float16", "half"]
        case .bfloat16: ["bfloat16"]
        case .float32: ["<f4", ">f4", "|f4", "=f4", "float32", "single"]
        case .float64: ["<f8", ">f8", "|f8", "=f8", "float64", "double"]
        }
    }

    /// The canonical little-endian descr, or the dtype name when there is none.
    public var canonicalDescr: String { numpyDescrs[0] }

    /// Recognises a numpy descr or dtype name; nil for anything that is not one of the
    /// four floating formats (integers, complex, `<V2`, ...).
    public init?(descr: String) {
        guard let match = FloatFormat.allCases.first(where: { $0.numpyDescrs.contains(descr) }) else {
            return nil
        }
        self = match
    }
}
