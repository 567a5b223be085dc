/// The floating-point types the engine reads and writes: float16, bfloat16, float32,
/// float64.
///
/// Inputs of every type convert to `Double` exactly, so the engine's fast paths work in
/// double (or double-double) arithmetic and only the final rounding depends on the type.
public protocol BatchNormFloat: BinaryFloatingPoint, SIMDScalar, Sendable {
    static var binaryFormat: BinaryFormat { get }
    /// `Double(self)`, exact for every conforming type.
    var exactDouble: Double { get }
    /// The value nearest to a double (one correct rounding).
    init(roundingDouble value: Double)
    /// The encoding, widened; equal bits mean the same value and the same sign of zero.
    var encoding: UInt64 { get }
    /// Lanes widened to double, exactly, for the vector loops of the first pass. The
    /// standard conversion for the standard types; bfloat16 moves its bits into float32
    /// instead of taking the generic (per-lane, unspecialised) conversion.
    static func widened(_ lanes: SIMD8<Self>) -> SIMD8<Double>
    static func widened(_ lanes: SIMD4<Self>) -> SIMD4<Double>
}

extension BatchNormFloat {
    @inline(__always) public static func widened(_ lanes: SIMD8<Self>) -> SIMD8<Double> { SIMD8<Double>(lanes) }
    @inline(__always) public static func widened(_ lanes: SIMD4<Self>) -> SIMD4<Double> { SIMD4<Double>(lanes) }
}

extension Float16: BatchNormFloat {
    @inline(__always) public var encoding: UInt64 { UInt64(bitPattern) }
    public static var binaryFormat: BinaryFormat { .binary16 }
    @inline(__always) public var exactDouble: Double { Double(self) }
    @inline(__always) public init(roundingDouble value: Double) { self.init(value) }
}

extension BFloat16: BatchNormFloat {
    @inline(__always) public var encoding: UInt64 { UInt64(bitPattern) }
    public static var binaryFormat: BinaryFormat { .bfloat16 }
    @inline(__always) public var exactDouble: Double { Double(float) }
    // init(roundingDouble:) is the type's own (BFloat16.swift).

    @inline(__always) public static func widened(_ lanes: SIMD8<BFloat16>) -> SIMD8<Double> {
        let bits = SIMD8<UInt32>(truncatingIfNeeded: unsafeBitCast(lanes, to: SIMD8<UInt16>.self)) &<< 16
        return SIMD8<Double>(unsafeBitCast(bits, to: SIMD8<Float>.self))
    }

    @inline(__always) public static func widened(_ lanes: SIMD4<BFloat16>) -> SIMD4<Double> {
        let bits = SIMD4<UInt32>(truncatingIfNeeded: unsafeBitCast(lanes, to: SIMD4<UInt16>.self)) &<< 16
        return SIMD4<Double>(unsafeBitCast(bits, to: SIMD4<Float>.self))
    }
}

extension Float: BatchNormFloat {
    @inline(__always) public var encoding: UInt64 { UInt64(bitPattern) }
    public static var binaryFormat: BinaryFormat { .binary32 }
    @inline(__always) public var exactDouble: Double { Double(self) }
    @inline(__always) public init(roundingDouble value: Double) { self.init(value) }
}

extension Double: BatchNormFloat {
    @inline(__always) public var encoding: UInt64 { bitPattern }
    public static var binaryFormat: BinaryFormat { .binary64 }
    @inline(__always) public var exactDouble: Double { self }
    @inline(__always) public init(roundingDouble value: Double) { self = value }
}

extension BatchNormFloat {
    /// The value of a ``RoundedValue`` in this type; exact, because the rounding
    /// already happened in ``ExactExpression/rounded(to:exponentHint:)``.
    init(_ rounded: RoundedValue) {
        switch rounded {
        case .zero(let negative): self = negative ? -Self.zero : Self.zero
        case .infinity(let negative): self = negative ? -Self.infinity : Self.infinity
        case .nan: self = Self.nan
        case .finite(let negative, let significand, let exponent):
            self = Self(
                sign: negative ? .minus : .plus, exponent: Self.Exponent(exponent),
                significand: Self(significand))
        }
    }

    /// The exact value rounded once into this type.
    init(exactly expression: ExactExpression, hint: Double? = nil) {
        var exponentHint: Int? = nil
        if let h = hint, h.isFinite, h != 0 { exponentHint = Int(h.exponent) }
        self.init(expression.rounded(to: Self.binaryFormat, exponentHint: exponentHint))
    }
}
