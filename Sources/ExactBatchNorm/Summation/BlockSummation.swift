/// Exact summation of a block of doubles by error-free extraction.
///
/// Adding every element to an ``ExactAccumulator`` is exact but serial. Instead, the
/// block is split into "levels" (Rump, Ogita and Oishi, *Accurate floating-point
/// summation*, 2008): with `sigma = 2^k` at least `2^m` times the largest magnitude,
/// where `2^m >= n + 2`, each `q = (sigma + v) - sigma` is `v` cut to a multiple of
/// `ulp(sigma)`, the residual `v - q` is exact, and the sum of the `q` is exact in
/// double arithmetic in any order. So each level is a branch-free loop over SIMD lanes
/// whose sum goes to the accumulator once; the residuals, smaller by about 2^-41 for
/// 512-element blocks, form the next level. Float32 data (24-bit significands) clear in
/// one level, their exact products in two, and the loop stops when every residual is 0.
enum BlockSummation {
    /// Elements per block: small enough to stay in L1, large enough to amortize a level.
    static let blockSize = 512
    typealias Lanes = SIMD8<Double>
    static let lanes = Lanes.scalarCount

    /// Scratch for `count` blocks, aligned for ``Lanes`` and zero-padded by the callers
    /// to a whole number of lanes (zeros do not change a sum).
    static func allocateScratch(blocks: Int) -> UnsafeMutablePointer<Double> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: blocks * blockSize * 8, alignment: 64)
        return raw.bindMemory(to: Double.self, capacity: blocks * blockSize)
    }

    /// `count` rounded up to whole lanes; the caller zero-fills the padding.
    @inline(__always)
    static func paddedCount(_ count: Int) -> Int { (count + lanes - 1) / lanes * lanes }

    /// Adds the exact sum of `values[0..<count]` to `accumulator`, overwriting `values`.
    /// The values must be finite, `count` a multiple of ``lanes``, `values` aligned, and
    /// `largest` at least the largest magnitude among them.
    ///
    /// Only the first level needs the true maximum. Rump's lemma bounds every residual
    /// by `2^-53 sigma`, so each later sigma follows from the one before without another
    /// pass to find a maximum; whether any residual is left is one OR of bit patterns.
    static func addExactSum(
        _ values: UnsafeMutablePointer<Double>, count: Int, largest: Double,
        to accumulator: inout ExactAccumulator
    ) {
        guard count > 0, largest != 0 else { return }
        // 2^m >= count + 2.
        let m = Int.bitWidth - (count + 1).leadingZeroBitCount
        let raw = UnsafeMutableRawPointer(values)
        var k = Int(largest.exponent) + 1 + m
        while true {
            if k > 1000 || k < -1000 {
                // At the ends of the double range sigma would overflow or its ulp would be
                // subnormal: add what is left one by one.
                for i in 0..<count { accumulator.add(values[i]) }
                return
            }
            let sigma = Lanes(repeating: Double(sign: .plus, exponent: k, significand: 1))
            var sum = Lanes(repeating: 0)
            var anyBits = SIMD8<UInt64>(repeating: 0)
            var offset = 0
            let bytes = count * 8
            while offset < bytes {
                let v = raw.load(fromByteOffset: offset, as: Lanes.self)
                let q = (sigma + v) - sigma
                let r = v - q
                raw.storeBytes(of: r, toByteOffset: offset, as: Lanes.self)
                sum += q
                anyBits |= unsafeBitCast(r, to: SIMD8<UInt64>.self)
                offset += Lanes.scalarCount * 8
            }
            // Every lane's partial sum is exact, so combining them is exact too.
            var total = 0.0
            for lane in 0..<lanes { total += sum[lane] }
            accumulator.add(total)
            var left: UInt64 = 0
            for lane in 0..<lanes { left |= anyBits[lane] }
            // -0.0 residuals have only the sign bit set and count as nothing left.
            if left & 0x7FFF_FFFF_FFFF_FFFF == 0 { return }
            k += m + 1 - 53
        }
    }
}
