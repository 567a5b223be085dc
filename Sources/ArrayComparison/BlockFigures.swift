/// One block of a key's values in scratch memory: `count` elements from flat position
/// `start`, A's and B's values and, when judging, each side's truth and the scale.
struct ScanBlock {
    let start: Int
    let count: Int
    let a: UnsafePointer<Double>
    let b: UnsafePointer<Double>
    var truthA: UnsafePointer<Double>? = nil
    var truthB: UnsafePointer<Double>? = nil
    var scale: UnsafePointer<Double>? = nil

    /// What a worst-element list keeps of element `j`.
    @inline(__always)
    func values(at j: Int) -> ElementValues {
        ElementValues(a: a[j], b: b[j], truthA: truthA?[j] ?? .nan, truthB: truthB?[j] ?? .nan,
                      scale: scale?[j] ?? .nan)
    }
}

/// A block's figures taken together: what the key's and the channel's totals need.
struct FigureTotals {
    var mismatched: Int
    var maxAbsolute: Double
    /// Over references that are normal; 0 when none is (`anyNormalReference` false).
    var maxRelative: Double
    var anyNormalReference: Bool
    var maxULP: UInt64
    var maxExcess: Double
    var signFlips: Int
}

/// Scratch memory for one block's per-element figures (`KeyScan.blockSize` of each).
struct FigureScratch {
    let difference: UnsafeMutablePointer<Double>
    let excess: UnsafeMutablePointer<Double>
    let ulp: UnsafeMutablePointer<UInt64>
    let mismatch: UnsafeMutablePointer<Int>

    typealias Lanes = SIMD4<Double>
    typealias Bits = SIMD4<UInt64>

    /// The figures of every element of a block of finite pairs, as `ElementFigures`
    /// defines them, into this scratch; nil, with the scratch undefined, when some pair
    /// is not finite (then only the definition's rules for each kind apply).
    ///
    /// Lane by lane these are the definition's operations: |a - b|, atol + rtol*|b|, the
    /// quotient (0 for a zero difference, infinite over an allowance that is not
    /// positive), |a - b| / max(|b|, smallest normal), and the distance of the two
    /// magnitudes' patterns on the format's grid (float16 and bfloat16 patterns are
    /// computed per element by `ulpDistance`). Same operations, same roundings: the same
    /// bits. A pair with the same bits matches whatever the allowance, as defined.
    func compute(_ block: ScanBlock, format: FloatFormat, rtol: Double, atol: Double) -> FigureTotals? {
        let tiny = Lanes(repeating: format.smallestNormal)
        let (r, t) = (Lanes(repeating: rtol), Lanes(repeating: atol))
        var mismatched = SIMD4<Int64>(), flips = SIMD4<Int64>(), normal = SIMD4<Int64>(), nonFinite = SIMD4<Int64>()
        var maxAbsolute = Lanes(), maxRelative = Lanes(), maxExcess = Lanes(), maxULP = Bits()
        let nativePatterns = format == .float32 || format == .float64
        var j = 0
        while j < block.count {
            let a = Self.load(block.a, j, block.count), b = Self.load(block.b, j, block.count)
            let aBits = unsafeBitCast(a, to: Bits.self), bBits = unsafeBitCast(b, to: Bits.self)
            let exponent = Bits(repeating: 0x7FF0_0000_0000_0000)
            nonFinite &+= SIMD4<Int64>(repeating: 0).replacing(
                with: 1, where: (aBits & exponent .== exponent) .| (bBits & exponent .== exponent))
            let magnitudeB = Self.magnitude(b)
            let difference = Self.magnitude(a - b)
            let allowance = t + r * magnitudeB
            let excess = (difference / allowance).replacing(with: .infinity, where: .!(allowance .> 0))
                .replacing(with: 0, where: difference .== 0)
            let matches = (aBits .== bBits) .| (difference .<= allowance)
            let mismatch = SIMD4<Int64>(repeating: 1).replacing(with: 0, where: matches)
            let relative = difference / magnitudeB.replacing(with: tiny, where: tiny .>= magnitudeB)
            let isNormal = magnitudeB .>= tiny
            let opposite = (aBits ^ bBits) & Bits(repeating: 1 << 63) .!= 0
            flips &+= SIMD4<Int64>(repeating: 0).replacing(with: 1, where: opposite .& (a .!= 0) .& (b .!= 0))
            let distance = nativePatterns ? Self.distance(a, b, opposite: opposite, format: format) : Bits()
            mismatched &+= mismatch
            normal &+= SIMD4<Int64>(repeating: 0).replacing(with: 1, where: isNormal)
            maxAbsolute = maxAbsolute.replacing(with: difference, where: difference .> maxAbsolute)
            let counted = Lanes().replacing(with: relative, where: isNormal)
            maxRelative = maxRelative.replacing(with: counted, where: counted .> maxRelative)
            maxExcess = maxExcess.replacing(with: excess, where: excess .> maxExcess)
            maxULP = maxULP.replacing(with: distance, where: distance .> maxULP)
            store(j, block.count, difference: difference, excess: excess, ulp: distance,
                  mismatch: SIMD4<Int>(truncatingIfNeeded: mismatch))
            j += Lanes.scalarCount
        }
        guard nonFinite.wrappedSum() == 0 else { return nil }
        var largestULP = maxULP.max()
        if !nativePatterns {
            for j in 0 ..< block.count {
                ulp[j] = format.ulpDistance(block.a[j], block.b[j])!
                largestULP = max(largestULP, ulp[j])
            }
        }
        return FigureTotals(
            mismatched: Int(mismatched.wrappedSum()), maxAbsolute: maxAbsolute.max(), maxRelative: maxRelative.max(),
            anyNormalReference: normal.wrappedSum() > 0, maxULP: largestULP, maxExcess: maxExcess.max(),
            signFlips: Int(flips.wrappedSum()))
    }

    /// `ulpDistance` of finite lanes in float32 or float64 (`FloatFormat.magnitudePattern`:
    /// the hardware's own rounding to float32, a double's own bits).
    @inline(__always)
    static func distance(_ a: Lanes, _ b: Lanes, opposite: SIMDMask<SIMD4<Int64>>, format: FloatFormat) -> Bits {
        let pa: Bits, pb: Bits
        if format == .float32 {
            pa = Bits(truncatingIfNeeded: unsafeBitCast(SIMD4<Float>(magnitude(a)), to: SIMD4<UInt32>.self))
            pb = Bits(truncatingIfNeeded: unsafeBitCast(SIMD4<Float>(magnitude(b)), to: SIMD4<UInt32>.self))
        } else {
            pa = unsafeBitCast(magnitude(a), to: Bits.self)
            pb = unsafeBitCast(magnitude(b), to: Bits.self)
        }
        // Zero has no sign here, so a pair counts as "same side" when either is zero.
        let sameSide = .!opposite .| (pa .== 0) .| (pb .== 0)
        let apart = (pa &- pb).replacing(with: pb &- pa, where: pb .> pa)
        return (pa &+ pb).replacing(with: apart, where: sameSide)
    }

    /// Four values from `j`, the missing ones of a short last group as zeros: a zero
    /// pair is identical and finite, and adds nothing to any total.
    @inline(__always)
    static func load(_ values: UnsafePointer<Double>, _ j: Int, _ count: Int) -> Lanes {
        if j + Lanes.scalarCount <= count { return UnsafeRawPointer(values + j).loadUnaligned(as: Lanes.self) }
        var lanes = Lanes()
        for lane in 0 ..< count - j { lanes[lane] = values[j + lane] }
        return lanes
    }

    @inline(__always)
    private func store(_ j: Int, _ count: Int, difference d: Lanes, excess e: Lanes, ulp u: Bits,
                       mismatch m: SIMD4<Int>) {
        if j + Lanes.scalarCount <= count {
            UnsafeMutableRawPointer(difference + j).storeBytes(of: d, as: Lanes.self)
            UnsafeMutableRawPointer(excess + j).storeBytes(of: e, as: Lanes.self)
            UnsafeMutableRawPointer(ulp + j).storeBytes(of: u, as: Bits.self)
            UnsafeMutableRawPointer(mismatch + j).storeBytes(of: m, as: SIMD4<Int>.self)
            return
        }
        for lane in 0 ..< count - j {
            (difference[j + lane], excess[j + lane], ulp[j + lane], mismatch[j + lane]) = (d[lane], e[lane], u[lane], m[lane])
        }
    }

    /// |x| lane by lane, by clearing the sign bits (so -0 becomes +0, as `magnitude` does).
    @inline(__always)
    static func magnitude(_ x: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(x, to: Bits.self) & Bits(repeating: ~(1 << 63)), to: Lanes.self)
    }
}
