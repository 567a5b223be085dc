import RealModule

/// Floating-point arithmetic with a bound on its rounding error, for the fast path.
///
/// The fast path evaluates `beta + g*b` and `g*a - k2*b` in one of two precisions while
/// carrying a rigorous bound on the accumulated error. A result is accepted only if
/// every real number within the bound rounds to the same value of the output type;
/// otherwise the element takes the exact path. The bound never decides a rounding, it
/// only decides whether the fast answer can be trusted, so exactness does not depend
/// on how tight it is — only speed does.
protocol KernelArithmetic {
    associatedtype Value
    /// A bound on the relative error of one `sum`, `difference` or `product`.
    static var unitRoundoff: Double { get }
    static func value(_ a: Approximation) -> (Value, err: Double)
    /// `scale * x` where `scale` is a per-channel integer and `x` a data value.
    static func scaled(_ scale: Double, _ x: Double) -> (Value, err: Double)
    static func value(_ d: Double) -> Value
    static func sum(_ a: Value, _ b: Value) -> Value
    static func difference(_ a: Value, _ b: Value) -> Value
    static func product(_ a: Value, _ b: Value) -> Value
    /// `|v|`, to relative accuracy far better than `unitRoundoff` matters.
    static func magnitude(_ v: Value) -> Double
    /// The value rounded into `Output`, and whether that rounding is certain: the same
    /// for every real number within `err` of `v`. Branch-free where it can be, so the
    /// element loops vectorize.
    static func round<Output: BatchNormFloat>(_ v: Value, err: Double, as: Output.Type) -> (Output, certain: Bool)
}

/// Plain double arithmetic: 29 bits to spare over float32 outputs, 42 over float16.
enum DoubleArithmetic: KernelArithmetic {
    static var unitRoundoff: Double { 0x1p-53 }

    @inline(__always) static func value(_ a: Approximation) -> (Double, err: Double) {
        (a.hi, a.err + a.lo.magnitude)
    }

    @inline(__always) static func scaled(_ scale: Double, _ x: Double) -> (Double, err: Double) {
        let p = scale * x
        // Exact whenever the product needs at most 53 bits, as M*x does for float16 and
        // float32 data; the bound covers the general case.
        return (p, p.magnitude * 0x1p-53)
    }

    @inline(__always) static func value(_ d: Double) -> Double { d }
    @inline(__always) static func sum(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) static func difference(_ a: Double, _ b: Double) -> Double { a - b }
    @inline(__always) static func product(_ a: Double, _ b: Double) -> Double { a * b }
    @inline(__always) static func magnitude(_ v: Double) -> Double { v.magnitude }

    @inline(__always)
    static func round<Output: BatchNormFloat>(_ v: Double, err: Double, as: Output.Type) -> (Output, certain: Bool) {
        // Widen the bound by the rounding of v -+ err itself, so that the computed ends
        // enclose the true interval; an exact result (err == 0) is not widened, so exact
        // zeros keep their sign.
        let e = err == 0 ? 0 : err * (1 + 0x1p-50) + v.magnitude * 0x1p-51 + 0x1p-1074
        let lower = Output(roundingDouble: v - e)
        let upper = Output(roundingDouble: v + e)
        // Rounding is monotonic, so equal ends decide everything between them. A
        // non-finite v (double overflow, NaN) is never certain.
        let certain = (lower.encoding == upper.encoding) && (v.magnitude < .infinity) && (e < .infinity)
        return (lower, certain)
    }
}

/// A double-double number `hi + lo` with `|lo| <= ulp(hi)/2`.
struct DoubleDouble {
    var hi: Double
    var lo: Double
}

/// Double-double arithmetic (about 104 bits), for float64 outputs. Built on the
/// error-free transformations of swift-numerics' `Augmented`.
enum DoubleDoubleArithmetic: KernelArithmetic {
    /// The accurate double-double sum has relative error below 3u^2 and the product
    /// below 7u^2 (Joldes, Muller and Popescu, 2017), u = 2^-53; 2^-100 covers both
    /// with room for the magnitudes being read from `hi` alone.
    static var unitRoundoff: Double { 0x1p-100 }

    @inline(__always) static func value(_ a: Approximation) -> (DoubleDouble, err: Double) {
        (DoubleDouble(hi: a.hi, lo: a.lo), a.err)
    }

    @inline(__always) static func scaled(_ scale: Double, _ x: Double) -> (DoubleDouble, err: Double) {
        let (h, t) = Augmented.product(scale, x)
        // The tail is exact unless it underflows, which tame constants and the range
        // check on results rule out; charge a subnormal quantum anyway.
        return (DoubleDouble(hi: h, lo: t), h.magnitude < 0x1p-960 && h != 0 ? 0x1p-1074 : 0)
    }

    @inline(__always) static func value(_ d: Double) -> DoubleDouble { DoubleDouble(hi: d, lo: 0) }

    @inline(__always) static func sum(_ a: DoubleDouble, _ b: DoubleDouble) -> DoubleDouble {
        let (s, e) = Augmented.sum(a.hi, b.hi)
        let (t, f) = Augmented.sum(a.lo, b.lo)
        let (s2, e2) = Augmented.sum(s, e + t)
        let (s3, e3) = Augmented.sum(s2, e2 + f)
        return DoubleDouble(hi: s3, lo: e3)
    }

    @inline(__always) static func difference(_ a: DoubleDouble, _ b: DoubleDouble) -> DoubleDouble {
        sum(a, DoubleDouble(hi: -b.hi, lo: -b.lo))
    }

    @inline(__always) static func product(_ a: DoubleDouble, _ b: DoubleDouble) -> DoubleDouble {
        let (p, e) = Augmented.product(a.hi, b.hi)
        let cross = a.hi * b.lo + a.lo * b.hi
        let (h, l) = Augmented.sum(p, e + cross)
        return DoubleDouble(hi: h, lo: l)
    }

    @inline(__always) static func magnitude(_ v: DoubleDouble) -> Double { v.hi.magnitude }

    @inline(__always)
    static func round<Output: BatchNormFloat>(_ v: DoubleDouble, err: Double, as: Output.Type) -> (
        Output, certain: Bool
    ) {
        guard Output.binaryFormat == .binary64 else {
            // A narrower output: fold to one double and let the double rule decide.
            let folded = v.hi + v.lo
            return DoubleArithmetic.round(folded, err: err + folded.magnitude * 0x1p-53, as: Output.self)
        }
        let hi = Output(roundingDouble: v.hi)
        if err == 0 && v.lo == 0 { return (hi, true) }
        guard v.hi.isFinite, v.hi.magnitude >= 0x1p-1020, v.hi.magnitude < 0x1p1020 else { return (hi, false) }
        // v.hi is the answer iff the whole interval lies strictly inside its rounding
        // cell: half the gap to each neighbour.
        let up = (v.hi.nextUp - v.hi) * 0.5
        let down = (v.hi - v.hi.nextDown) * 0.5
        // Widened by the rounding of lo -+ e, so the computed comparison is conservative.
        let e = err * (1 + 0x1p-50) + v.lo.magnitude * 0x1p-52
        return (hi, v.lo + e < up && v.lo - e > -down)
    }
}
