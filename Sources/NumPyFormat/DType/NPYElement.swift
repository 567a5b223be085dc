/// A Swift type an array's elements can be read as or written from.
///
/// Each conforming type has one numpy dtype it corresponds to natively (`Float` is
/// `<f4` on a little-endian machine). Reading an array as `T` either uses the bytes as
/// they are (same dtype, native order) or converts them through `_npyConvert`, which is
/// only ever called for source dtypes `NPYConversion` has proven lossless.
public protocol NPYElement: BitwiseCopyable, Sendable {
    /// The dtype whose bytes, in this machine's byte order, are exactly this type.
    static var npyDType: NPYDType { get }

    /// Converts `count` elements of `dtype` (in the byte order `dtype` states) starting
    /// at `source` into `destination`. Implementation detail of the typed readers;
    /// `dtype` has already been checked to convert to `Self` without loss.
    static func _npyConvert(
        from source: UnsafeRawPointer, dtype: NPYDType, count: Int,
        into destination: UnsafeMutablePointer<Self>)
}

extension NPYElement {
    static func nativeDType(_ kind: NPYDType.Kind) -> NPYDType {
        NPYDType(uncheckedKind: kind, itemSize: MemoryLayout<Self>.size, byteOrder: .native)
    }
}

/// Loads element `index` of a packed array of `S` in the given byte order, at any alignment.
@inline(__always)
func loadElement<S: FixedWidthInteger & BitwiseCopyable>(
    _ source: UnsafeRawPointer, _ index: Int, swap: Bool, as _: S.Type = S.self
) -> S {
    let raw = source.loadUnaligned(fromByteOffset: index &* MemoryLayout<S>.size, as: S.self)
    return swap ? raw.byteSwapped : raw
}

extension NPYElement where Self: FixedWidthInteger {
    /// Integers are read from bools and from integers no wider (or, from unsigned
    /// sources, narrower) than themselves; sign extension does the rest.
    public static func _npyConvert(
        from source: UnsafeRawPointer, dtype: NPYDType, count: Int,
        into destination: UnsafeMutablePointer<Self>
    ) {
        let swap = dtype.needsByteSwap
        func run<S: FixedWidthInteger & BitwiseCopyable>(_: S.Type) {
            for i in 0..<count {
                destination[i] = Self(truncatingIfNeeded: loadElement(source, i, swap: swap, as: S.self))
            }
        }
        switch (dtype.kind, dtype.itemSize) {
        case (.bool, _):
            for i in 0..<count { destination[i] = source.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        case (.signedInteger, 1): run(Int8.self)
        case (.signedInteger, 2): run(Int16.self)
        case (.signedInteger, 4): run(Int32.self)
        case (.signedInteger, 8): run(Int64.self)
        case (.unsignedInteger, 1): run(UInt8.self)
        case (.unsignedInteger, 2): run(UInt16.self)
        case (.unsignedInteger, 4): run(UInt32.self)
        case (.unsignedInteger, 8): run(UInt64.self)
        default: preconditionFailure("unchecked conversion from \(dtype) to \(Self.self)")
        }
    }
}

extension NPYElement where Self: BinaryFloatingPoint {
    /// Floats are read from bools, from integers whose every value the significand holds,
    /// from floats no wider than themselves, and from bfloat16 (through float32, exactly).
    public static func _npyConvert(
        from source: UnsafeRawPointer, dtype: NPYDType, count: Int,
        into destination: UnsafeMutablePointer<Self>
    ) {
        let swap = dtype.needsByteSwap
        func integers<S: FixedWidthInteger & BitwiseCopyable>(_: S.Type) {
            for i in 0..<count { destination[i] = Self(loadElement(source, i, swap: swap, as: S.self)) }
        }
        switch (dtype.kind, dtype.itemSize) {
        case (.bool, _):
            for i in 0..<count { destination[i] = source.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        case (.signedInteger, 1): integers(Int8.self)
        case (.signedInteger, 2): integers(Int16.self)
        case (.signedInteger, 4): integers(Int32.self)
        case (.signedInteger, 8): integers(Int64.self)
        case (.unsignedInteger, 1): integers(UInt8.self)
        case (.unsignedInteger, 2): integers(UInt16.self)
        case (.unsignedInteger, 4): integers(UInt32.self)
        case (.unsignedInteger, 8): integers(UInt64.self)
        case (.float, 2):
            for i in 0..<count { destination[i] = Self(Float16(bitPattern: loadElement(source, i, swap: swap))) }
        case (.bfloat16, _):
            for i in 0..<count {
                destination[i] = Self(
                    Float(bitPattern: UInt32(loadElement(source, i, swap: swap, as: UInt16.self)) << 16))
            }
        case (.float, 4):
            for i in 0..<count { destination[i] = Self(Float(bitPattern: loadElement(source, i, swap: swap))) }
        case (.float, 8):
            for i in 0..<count { destination[i] = Self(Double(bitPattern: loadElement(source, i, swap: swap))) }
        default: preconditionFailure("unchecked conversion from \(dtype) to \(Self.self)")
        }
    }
}

extension Bool: NPYElement {
    public static var npyDType: NPYDType { nativeDType(.bool) }

    public static func _npyConvert(
        from source: UnsafeRawPointer, dtype: NPYDType, count: Int,
        into destination: UnsafeMutablePointer<Bool>
    ) {
        // Through `!= 0`, never by reinterpreting: a Bool byte other than 0/1 is UB.
        for i in 0..<count { destination[i] = source.load(fromByteOffset: i, as: UInt8.self) != 0 }
    }
}

extension Int8: NPYElement { public static var npyDType: NPYDType { nativeDType(.signedInteger) } }
extension Int16: NPYElement { public static var npyDType: NPYDType { nativeDType(.signedInteger) } }
extension Int32: NPYElement { public static var npyDType: NPYDType { nativeDType(.signedInteger) } }
extension Int64: NPYElement { public static var npyDType: NPYDType { nativeDType(.signedInteger) } }
extension UInt8: NPYElement { public static var npyDType: NPYDType { nativeDType(.unsignedInteger) } }
extension UInt16: NPYElement { public static var npyDType: NPYDType { nativeDType(.unsignedInteger) } }
extension UInt32: NPYElement { public static var npyDType: NPYDType { nativeDType(.unsignedInteger) } }
extension UInt64: NPYElement { public static var npyDType: NPYDType { nativeDType(.unsignedInteger) } }
extension Float16: NPYElement { public static var npyDType: NPYDType { nativeDType(.float) } }
extension Float: NPYElement { public static var npyDType: NPYDType { nativeDType(.float) } }
extension Double: NPYElement { public static var npyDType: NPYDType { nativeDType(.float) } }
