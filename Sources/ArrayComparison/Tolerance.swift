/// The acceptance rule of a plain A-versus-B comparison, in the form
/// `torch.testing.assert_close` uses: an element matches when
/// `|a - b| <= atol + rtol * |b|`, with `b` the reference.
///
/// The two parts do different jobs: `rtol` absorbs rounding noise that scales with the
/// value, `atol` absorbs noise around zero where a relative bound collapses (a result
/// that should be 0 comes out as 1e-8 from any implementation). Tools that make you
/// choose one or the other (h5diff) force a bad trade-off, so both are always applied.
public struct Tolerance: Sendable, Codable, Equatable {
    public var rtol: Double
    public var atol: Double
    /// Where the numbers came from, for the report: a default names its origin so a
    /// reader can tell bnfile's verdict is the same one PyTorch's tests would give.
    public var source: String

    public init(rtol: Double, atol: Double, source: String) {
        self.rtol = rtol
        self.atol = atol
        self.source = source
    }

    /// `torch.testing.assert_close`'s defaults for the format. They are looser than one
    /// ulp on purpose: roughly the accumulated rounding of a short reduction.
    public static func torchDefault(for format: FloatFormat) -> Tolerance {
        let (rtol, atol): (Double, Double) =
            switch format {
            case .float16: (1e-3, 1e-5)
            case .bfloat16: (1.6e-2, 1e-5)
            case .float32: (1.3e-6, 1e-5)
            case .float64: (1e-7, 1e-7)
            }
        return Tolerance(rtol: rtol, atol: atol, source: defaultSource(for: format))
    }

    /// The tolerance for a comparison in `format`, with optional overrides from the
    /// command line. A flag replaces only its own part; the other keeps torch's default,
    /// and the source says which is which.
    public static func resolved(for format: FloatFormat, rtol: Double? = nil, atol: Double? = nil) -> Tolerance {
        let base = torchDefault(for: format)
        let source: String =
            switch (rtol, atol) {
            case (nil, nil): base.source
            case (.some, .some): "--rtol/--atol flag"
            case (.some, nil): "--rtol flag; atol: \(base.source)"
            case (nil, .some): "--atol flag; rtol: \(base.source)"
            }
        return Tolerance(rtol: rtol ?? base.rtol, atol: atol ?? base.atol, source: source)
    }

    static func defaultSource(for format: FloatFormat) -> String {
        "torch.testing.assert_close default for \(format.rawValue)"
    }

    /// The largest |a - b| accepted when the reference is `b`.
    @inline(__always)
    public func allowance(reference b: Double) -> Double { atol + rtol * abs(b) }

    /// The acceptance rule for a finite pair (non-finite pairs are handled by
    /// `ElementComparison`, since infinities and NaN need rules of their own).
    @inline(__always)
    public func accepts(_ a: Double, reference b: Double) -> Bool {
        abs(a - b) <= allowance(reference: b)
    }
}
