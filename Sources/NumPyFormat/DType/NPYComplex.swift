/// A complex number as numpy stores it: real part, then imaginary part, each in the
/// array's byte order. `NPYComplex<Float>` is `complex64`, `NPYComplex<Double>` is
/// `complex128`. Deliberately minimal: arithmetic belongs to a numerics library.
@frozen
public struct NPYComplex<Scalar: NPYComplexScalar>: Hashable, Sendable, BitwiseCopyable {
    public var real: Scalar
    public var imaginary: Scalar

    public init(_ real: Scalar, _ imaginary: Scalar) {
        self.real = real
        self.imaginary = imaginary
    }
}

public typealias NPYComplex64 = NPYComplex<Float>
public typealias NPYComplex128 = NPYComplex<Double>

/// The scalar types numpy has complex numbers of.
public protocol NPYComplexScalar: NPYElement, BinaryFloatingPoint, Hashable {}
extension Float: NPYComplexScalar {}
extension Double: NPYComplexScalar {}

extension NPYComplex: NPYElement {
    public static var npyDType: NPYDType {
        NPYDType(uncheckedKind: .complex, itemSize: 2 * MemoryLayout<Scalar>.size, byteOrder: .native)
    }

    /// Complex values come from complex values of no greater width, or from any real
    /// type the scalar can hold exactly (with a zero imaginary part).
    public static func _npyConvert(
        from source: UnsafeRawPointer, dtype: NPYDType, count: Int,
        into destination: UnsafeMutablePointer<NPYComplex>
    ) {
        guard dtype.kind == .complex else {
            let parts = UnsafeMutablePointer<Scalar>.allocate(capacity: count)
            defer { parts.deallocate() }
            Scalar._npyConvert(from: source, dtype: dtype, count: count, into: parts)
            for i in 0..<count { destination[i] = NPYComplex(parts[i], 0) }
            return
        }
        // A complex array is a real array of twice the length, in the same byte order.
        let partType = NPYDType(uncheckedKind: .float, itemSize: dtype.itemSize / 2, byteOrder: dtype.byteOrder)
        destination.withMemoryRebound(to: Scalar.self, capacity: 2 * count) { parts in
            Scalar._npyConvert(from: source, dtype: partType, count: 2 * count, into: parts)
        }
    }
}
