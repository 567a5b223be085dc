/// SIMD vectors of bfloat16 hold their encodings in vectors of `UInt16`, so that
/// `SIMD8<BFloat16>` has the layout of eight packed bfloat16 values and loads straight
/// from the bytes of an array, as the engine's vector loops do for every data type.
extension BFloat16: SIMDScalar {
    public typealias SIMDMaskScalar = Int16
    public typealias SIMD2Storage = BFloat16Vector<SIMD2<UInt16>>
    public typealias SIMD4Storage = BFloat16Vector<SIMD4<UInt16>>
    public typealias SIMD8Storage = BFloat16Vector<SIMD8<UInt16>>
    public typealias SIMD16Storage = BFloat16Vector<SIMD16<UInt16>>
    public typealias SIMD32Storage = BFloat16Vector<SIMD32<UInt16>>
    public typealias SIMD64Storage = BFloat16Vector<SIMD64<UInt16>>
}

/// The storage of a vector of bfloat16: the encodings, lane for lane.
@frozen
public struct BFloat16Vector<Bits: SIMD & Sendable>: SIMDStorage, Sendable where Bits.Scalar == UInt16 {
    public var bits: Bits

    @inline(__always) public init() { bits = Bits() }

    public var scalarCount: Int { bits.scalarCount }

    public subscript(index: Int) -> BFloat16 {
        @inline(__always) get { BFloat16(bitPattern: bits[index]) }
        @inline(__always) set { bits[index] = newValue.bitPattern }
    }
}
