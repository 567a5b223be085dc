/// Four doubles at a time, and the masks their comparisons give.
///
/// `SIMD.replacing(with:where:)` lowers to a branch per lane in this toolchain, which
/// costs more than the arithmetic it selects between; these selections are bit
/// operations on the mask (all bits set in a true lane), branch-free by construction.
typealias Lanes = SIMD4<Double>
typealias LaneBits = SIMD4<UInt64>
typealias LaneMask = SIMDMask<SIMD4<Int64>>

extension SIMDMask where Storage == SIMD4<Int64> {
    /// The mask as bits: every bit of a true lane set.
    @inline(__always) var bits: LaneBits { unsafeBitCast(self, to: LaneBits.self) }

    /// 1 in each true lane, 0 elsewhere, for counting.
    @inline(__always) var ones: SIMD4<Int64> { SIMD4<Int64>() &- unsafeBitCast(self, to: SIMD4<Int64>.self) }
}

/// `yes` in the mask's true lanes, `no` elsewhere.
@inline(__always)
func select(_ mask: LaneMask, _ yes: LaneBits, _ no: LaneBits) -> LaneBits {
    (yes & mask.bits) | (no & ~mask.bits)
}

@inline(__always)
func select(_ mask: LaneMask, _ yes: Lanes, _ no: Lanes) -> Lanes {
    unsafeBitCast(
        select(mask, unsafeBitCast(yes, to: LaneBits.self), unsafeBitCast(no, to: LaneBits.self)),
        to: Lanes.self)
}

@inline(__always)
func select(_ mask: LaneMask, _ yes: SIMD4<Int64>, _ no: SIMD4<Int64>) -> SIMD4<Int64> {
    unsafeBitCast(
        select(mask, unsafeBitCast(yes, to: LaneBits.self), unsafeBitCast(no, to: LaneBits.self)),
        to: SIMD4<Int64>.self)
}

/// The lane-wise maximum as `Swift.max` takes it (the second where the two are equal);
/// for lanes without NaN.
@inline(__always)
func laneMax(_ a: Lanes, _ b: Lanes) -> Lanes { select(b .>= a, b, a) }

@inline(__always)
func laneMax(_ a: LaneBits, _ b: LaneBits) -> LaneBits { select(b .>= a, b, a) }

/// |x| lane by lane, by clearing the sign bits (so -0 becomes +0, as `magnitude` does).
@inline(__always)
func laneMagnitude(_ x: Lanes) -> Lanes {
    unsafeBitCast(unsafeBitCast(x, to: LaneBits.self) & LaneBits(repeating: ~(1 << 63)), to: Lanes.self)
}

/// Four values from `j` of a block of `count`, the missing ones of a short last group as
/// zeros.
@inline(__always)
func loadLanes(_ values: UnsafePointer<Double>, _ j: Int, _ count: Int) -> Lanes {
    if j + Lanes.scalarCount <= count { return UnsafeRawPointer(values + j).loadUnaligned(as: Lanes.self) }
    var lanes = Lanes()
    for lane in 0..<count - j { lanes[lane] = values[j + lane] }
    return lanes
}

/// Stores the lanes present in a block of `count` from `j`.
@inline(__always)
func storeLanes<V: SIMD>(_ lanes: V, _ destination: UnsafeMutablePointer<V.Scalar>, _ j: Int, _ count: Int) {
    if j + V.scalarCount <= count {
        UnsafeMutableRawPointer(destination + j).storeBytes(of: lanes, as: V.self)
        return
    }
    for lane in 0..<count - j { destination[j + lane] = lanes[lane] }
}
