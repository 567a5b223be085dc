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
        ElementValues(
            a: a[j], b: b[j], truthA: truthA?[j] ?? .nan, truthB: truthB?[j] ?? .nan,
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
    /// Pairs of the same bits.
    var identical: Int
}

/// Scratch memory for one block's per-element figures (`KeyScan.blockSize` of each).
struct FigureScratch {
    let difference: UnsafeMutablePointer<Double>
    let excess: UnsafeMutablePointer<Double>
    let ulp: UnsafeMutablePointer<UInt64>
    let mismatch: UnsafeMutablePointer<Int>
    /// Each element's ULP histogram bucket.
    let bucket: UnsafeMutablePointer<Int>

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
        let exponent = LaneBits(repeating: 0x7FF0_0000_0000_0000), sign = LaneBits(repeating: 1 << 63)
        var mismatched = SIMD4<Int64>(), flips = SIMD4<Int64>(), normal = SIMD4<Int64>(), nonFinite = SIMD4<Int64>()
        var identical = SIMD4<Int64>()
        var maxAbsolute = Lanes(), maxRelative = Lanes(), maxExcess = Lanes(), maxULP = LaneBits()
        let nativePatterns = format == .float32 || format == .float64
        var misfits = SIMD4<Int64>()
        var j = 0
        while j < block.count {
            let a = loadLanes(block.a, j, block.count), b = loadLanes(block.b, j, block.count)
            let aBits = unsafeBitCast(a, to: LaneBits.self), bBits = unsafeBitCast(b, to: LaneBits.self)
            nonFinite &+= ((aBits & exponent .== exponent) .| (bBits & exponent .== exponent)).ones
            let magnitudeB = laneMagnitude(b)
            let difference = laneMagnitude(a - b)
            let allowance = t + r * magnitudeB
            let excess = select(
                difference .== 0, Lanes(),
                select(allowance .> 0, difference / allowance, Lanes(repeating: .infinity)))
            let same = aBits .== bBits
            // The zeros that pad a short last group are no pairs of the block.
            identical &+= (same .& (SIMD4<Int64>(0, 1, 2, 3) .< Int64(block.count - j))).ones
            let mismatch = (.!(same .| (difference .<= allowance))).ones
            let relative = difference / select(tiny .>= magnitudeB, tiny, magnitudeB)
            let isNormal = magnitudeB .>= tiny
            let opposite = (aBits ^ bBits) & sign .!= 0
            flips &+= (opposite .& (a .!= 0) .& (b .!= 0)).ones
            let distance = nativePatterns ? Self.distance(a, b, opposite: opposite, format: format) : LaneBits()
            mismatched &+= mismatch
            normal &+= isNormal.ones
            maxAbsolute = laneMax(maxAbsolute, difference)
            maxRelative = laneMax(maxRelative, select(isNormal, relative, Lanes()))
            maxExcess = laneMax(maxExcess, excess)
            maxULP = laneMax(maxULP, distance)
            storeLanes(difference, self.difference, j, block.count)
            storeLanes(excess, self.excess, j, block.count)
            storeLanes(distance, ulp, j, block.count)
            storeLanes(SIMD4<Int>(truncatingIfNeeded: mismatch), self.mismatch, j, block.count)
            let buckets = HistogramCounter.buckets(ulp: distance)
            misfits &+= (.!buckets.fits).ones
            storeLanes(SIMD4<Int>(truncatingIfNeeded: buckets.buckets), bucket, j, block.count)
            j += Lanes.scalarCount
        }
        guard nonFinite.wrappedSum() == 0 else { return nil }
        var largestULP = maxULP.max()
        if !nativePatterns {
            for j in 0..<block.count {
                ulp[j] = format.ulpDistance(block.a[j], block.b[j])!
                largestULP = max(largestULP, ulp[j])
            }
        }
        if !nativePatterns || misfits != SIMD4<Int64>() {
            for j in 0..<block.count { bucket[j] = HistogramCounter.bucket(ulp: ulp[j]) }
        }
        return FigureTotals(
            mismatched: Int(mismatched.wrappedSum()), maxAbsolute: maxAbsolute.max(), maxRelative: maxRelative.max(),
            anyNormalReference: normal.wrappedSum() > 0, maxULP: largestULP, maxExcess: maxExcess.max(),
            signFlips: Int(flips.wrappedSum()), identical: Int(identical.wrappedSum()))
    }

    /// `ulpDistance` of finite lanes in float32 or float64 (`FloatFormat.magnitudePattern`:
    /// the hardware's own rounding to float32, a double's own bits).
    @inline(__always)
    static func distance(_ a: Lanes, _ b: Lanes, opposite: LaneMask, format: FloatFormat) -> LaneBits {
        let pa: LaneBits, pb: LaneBits
        if format == .float32 {
            pa = LaneBits(truncatingIfNeeded: unsafeBitCast(SIMD4<Float>(laneMagnitude(a)), to: SIMD4<UInt32>.self))
            pb = LaneBits(truncatingIfNeeded: unsafeBitCast(SIMD4<Float>(laneMagnitude(b)), to: SIMD4<UInt32>.self))
        } else {
            pa = unsafeBitCast(laneMagnitude(a), to: LaneBits.self)
            pb = unsafeBitCast(laneMagnitude(b), to: LaneBits.self)
        }
        // Zero has no sign here, so a pair counts as "same side" when either is zero.
        let sameSide = .!opposite .| (pa .== 0) .| (pb .== 0)
        return select(sameSide, select(pb .> pa, pb &- pa, pa &- pb), pa &+ pb)
    }
}
