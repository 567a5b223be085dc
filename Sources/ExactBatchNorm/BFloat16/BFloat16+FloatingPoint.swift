/// `BinaryFloatingPoint` for bfloat16, so that the engine's generic code (and the
/// standard library's conversions, SIMD widening among them) treat it as the other
/// formats. Properties of a value (`exponent`, `significand`, the comparisons) are
/// those of the same value as a float32; operations round as the type's notes say.
extension BFloat16: BinaryFloatingPoint {
    public typealias Exponent = Int
    public typealias RawSignificand = UInt16
    public typealias RawExponent = UInt
    public typealias Magnitude = BFloat16
    public typealias Stride = BFloat16
    public typealias IntegerLiteralType = Int64
    public typealias FloatLiteralType = Double

    // MARK: Format

    public static var exponentBitCount: Int { 8 }
    public static var significandBitCount: Int { 7 }

    public var exponentBitPattern: UInt { UInt((bitPattern >> 7) & 0xFF) }
    public var significandBitPattern: UInt16 { bitPattern & 0x7F }

    public init(sign: FloatingPointSign, exponentBitPattern: UInt, significandBitPattern: UInt16) {
        let signBit: UInt16 = sign == .minus ? 0x8000 : 0
        self.init(
            bitPattern: signBit | UInt16(truncatingIfNeeded: exponentBitPattern & 0xFF) << 7
                | (significandBitPattern & 0x7F))
    }

    public static var nan: BFloat16 { BFloat16(bitPattern: 0x7FC0) }
    public static var signalingNaN: BFloat16 { BFloat16(bitPattern: 0x7FA0) }
    public static var infinity: BFloat16 { BFloat16(bitPattern: 0x7F80) }
    public static var greatestFiniteMagnitude: BFloat16 { BFloat16(bitPattern: 0x7F7F) }
    public static var leastNormalMagnitude: BFloat16 { BFloat16(bitPattern: 0x0080) }
    public static var leastNonzeroMagnitude: BFloat16 { BFloat16(bitPattern: 0x0001) }
    /// π rounded toward zero (3.140625), as the standard types define `pi`.
    public static var pi: BFloat16 { BFloat16(bitPattern: 0x4049) }

    // MARK: Conversions

    @inline(__always) public init(_ value: Float) { self.init(roundingFloat: value) }
    @inline(__always) public init(_ value: Double) { self.init(roundingDouble: value) }

    #if !(os(Windows) || os(Android)) && (arch(i386) || arch(x86_64))
    /// Through double rounded to odd: 53 >= 8 + 2 bits make the second rounding correct.
    public init(_ value: Float80) {
        let near = Double(value)
        let residual =
            value.isNaN || !near.isFinite ? 0 : (value > Float80(near) ? 1 : (value < Float80(near) ? -1 : 0))
        self.init(roundingDouble: Self.roundedToOdd(near, residual: residual))
    }
    #endif

    public init(_ value: Int) { self.init(integer: value) }
    public init<Source: BinaryInteger>(_ value: Source) { self.init(integer: value) }

    public init?<Source: BinaryInteger>(exactly value: Source) {
        let rounded = BFloat16(integer: value)
        guard rounded.isFinite, let back = Source(exactly: rounded.float), back == value else { return nil }
        self = rounded
    }

    public init(integerLiteral value: Int64) { self.init(integer: value) }
    public init(floatLiteral value: Double) { self.init(roundingDouble: value) }

    /// An integer rounded once to nearest-even: through double rounded to odd, with the
    /// residual's sign found by converting the double back (or, when the double left
    /// the integer type's range, known to point back toward zero).
    private init<Source: BinaryInteger>(integer value: Source) {
        let near = Double(value)
        let residual: Int
        if let back = Source(exactly: near) {
            residual = value == back ? 0 : (value > back ? 1 : -1)
        } else {
            residual = near > 0 ? -1 : 1
        }
        self.init(roundingDouble: Self.roundedToOdd(near, residual: residual))
    }

    /// `near` (a correct rounding of some value) replaced by the neighbour on the
    /// value's side when the value lies strictly between and `near`'s last bit is even:
    /// rounding to odd, which keeps the information a second rounding to fewer bits
    /// needs. `residual` is the sign of value - near.
    static func roundedToOdd(_ near: Double, residual: Int) -> Double {
        guard residual != 0, near.isFinite, near.significandBitPattern & 1 == 0 else { return near }
        return residual > 0 ? near.nextUp : near.nextDown
    }

    // MARK: Value properties

    public var sign: FloatingPointSign { bitPattern & 0x8000 == 0 ? .plus : .minus }
    public var exponent: Int { float.exponent }
    public var significand: BFloat16 { BFloat16(roundingFloat: float.significand) }
    public var magnitude: BFloat16 { BFloat16(bitPattern: bitPattern & 0x7FFF) }
    public var binade: BFloat16 { BFloat16(roundingFloat: float.binade) }
    public var significandWidth: Int { float.significandWidth }

    /// The gap to the next larger magnitude: 2^(e - 7) for a normal value of exponent
    /// e, a subnormal power of two when that falls below 2^-126, 2^-133 for subnormals.
    public var ulp: BFloat16 {
        guard isFinite else { return .nan }
        let field = exponentBitPattern
        if field == 0 { return .leastNonzeroMagnitude }
        if field > 7 { return BFloat16(sign: .plus, exponentBitPattern: field - 7, significandBitPattern: 0) }
        return BFloat16(bitPattern: UInt16(1) << (field - 1))
    }

    public var nextUp: BFloat16 {
        if isNaN { return BFloat16(bitPattern: bitPattern | 0x0040) }
        if bitPattern == 0x7F80 { return self }
        if isZero { return .leastNonzeroMagnitude }
        return BFloat16(bitPattern: sign == .plus ? bitPattern + 1 : bitPattern - 1)
    }

    public var isNormal: Bool { exponentBitPattern != 0 && exponentBitPattern != 0xFF }
    public var isFinite: Bool { exponentBitPattern != 0xFF }
    public var isZero: Bool { bitPattern & 0x7FFF == 0 }
    public var isSubnormal: Bool { exponentBitPattern == 0 && significandBitPattern != 0 }
    public var isInfinite: Bool { bitPattern & 0x7FFF == 0x7F80 }
    public var isNaN: Bool { bitPattern & 0x7FFF > 0x7F80 }
    public var isSignalingNaN: Bool { isNaN && bitPattern & 0x0040 == 0 }
    public var isCanonical: Bool { true }

    public init(sign: FloatingPointSign, exponent: Int, significand: BFloat16) {
        self.init(roundingFloat: Float(sign: sign, exponent: exponent, significand: significand.float))
    }

    public init(signOf sign: BFloat16, magnitudeOf magnitude: BFloat16) {
        self.init(bitPattern: (sign.bitPattern & 0x8000) | (magnitude.bitPattern & 0x7FFF))
    }

    // MARK: Arithmetic (through float32: see the type's notes)

    public static func + (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(roundingFloat: a.float + b.float) }
    public static func - (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(roundingFloat: a.float - b.float) }
    public static func * (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(roundingFloat: a.float * b.float) }
    public static func / (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(roundingFloat: a.float / b.float) }
    public static func += (a: inout BFloat16, b: BFloat16) { a = a + b }
    public static func -= (a: inout BFloat16, b: BFloat16) { a = a - b }
    public static func *= (a: inout BFloat16, b: BFloat16) { a = a * b }
    public static func /= (a: inout BFloat16, b: BFloat16) { a = a / b }
    public static prefix func - (a: BFloat16) -> BFloat16 { BFloat16(bitPattern: a.bitPattern ^ 0x8000) }
    public mutating func negate() { bitPattern ^= 0x8000 }

    /// Exact in float32 (a remainder is always representable in its operands' format).
    public mutating func formRemainder(dividingBy other: BFloat16) {
        self = BFloat16(roundingFloat: float.remainder(dividingBy: other.float))
    }

    public mutating func formTruncatingRemainder(dividingBy other: BFloat16) {
        self = BFloat16(roundingFloat: float.truncatingRemainder(dividingBy: other.float))
    }

    public mutating func formSquareRoot() { self = BFloat16(roundingFloat: float.squareRoot()) }

    /// `self + a*b` rounded once: the product of two 8-bit significands is exact in
    /// double, the sum is rounded to odd there (its error found by Knuth's two-sum),
    /// and that rounds correctly to bfloat16.
    public mutating func addProduct(_ a: BFloat16, _ b: BFloat16) {
        let product = Double(a.float) * Double(b.float)
        let addend = Double(float)
        let sum = product + addend
        guard sum.isFinite else {
            self = BFloat16(roundingDouble: sum)
            return
        }
        let remainder = sum - product
        let error = (product - (sum - remainder)) + (addend - remainder)
        self = BFloat16(roundingDouble: Self.roundedToOdd(sum, residual: error > 0 ? 1 : (error < 0 ? -1 : 0)))
    }

    /// Exact in float32 (integral values of bfloat16 inputs are bfloat16 values).
    public mutating func round(_ rule: FloatingPointRoundingRule) {
        self = BFloat16(roundingFloat: float.rounded(rule))
    }

    // MARK: Comparison

    public func isEqual(to other: BFloat16) -> Bool { float == other.float }
    public func isLess(than other: BFloat16) -> Bool { float < other.float }
    public func isLessThanOrEqualTo(_ other: BFloat16) -> Bool { float <= other.float }
    public func isTotallyOrdered(belowOrEqualTo other: BFloat16) -> Bool {
        float.isTotallyOrdered(belowOrEqualTo: other.float)
    }
    public static func < (a: BFloat16, b: BFloat16) -> Bool { a.float < b.float }
    public static func <= (a: BFloat16, b: BFloat16) -> Bool { a.float <= b.float }
    public static func > (a: BFloat16, b: BFloat16) -> Bool { a.float > b.float }
    public static func >= (a: BFloat16, b: BFloat16) -> Bool { a.float >= b.float }

    // MARK: Strideable

    public func distance(to other: BFloat16) -> BFloat16 { other - self }
    public func advanced(by amount: BFloat16) -> BFloat16 { self + amount }
}
