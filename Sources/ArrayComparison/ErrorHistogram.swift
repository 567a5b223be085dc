/// How errors are distributed, on a log2 scale.
///
/// One number (the maximum) cannot tell a systematic bug from one unlucky element: a bug
/// moves the bulk of the distribution, rounding noise leaves nearly everything in the
/// first few buckets with a thin tail. Doubling bucket widths match how rounding errors
/// compound (each extra rounding can at most add about one unit), so the buckets read as
/// "how many roundings' worth" of error each element carries.
public struct ErrorHistogram: Sendable, Codable, Equatable {
    public struct Bucket: Sendable, Codable, Equatable {
        /// Exclusive lower bound (the previous bucket's upper bound); 0 for "exact".
        public var lowerBound: Double
        /// Inclusive upper bound; 0 for the "exact" bucket, +inf for the open last one.
        public var upperBound: Double
        public var count: Int
    }

    /// "ulp" for plain comparisons, "u*scale" against the truth.
    public var unit: String
    /// From "exact" up to the last non-empty bucket; empty buckets in between are kept
    /// so the shape of the distribution is visible.
    public var buckets: [Bucket]
    /// Elements whose error is not a number on this scale (NaN involved, or infinite).
    public var nonFinite: Int
    /// Elements that fail the acceptance rule (tolerance, or the rounding threshold).
    public var beyondLimit: Int
    /// What `beyondLimit` means, for the rendering: "beyond tolerance", "beyond rounding".
    public var limitLabel: String
}

/// A histogram's counters in a scan's inner loop: `HistogramCounter.bucketCount` of them
/// in four interleaved copies, element `j` counting in copy `j % 4`, so that a run of
/// elements in one bucket (the usual case) does not wait on one counter's increments.
struct BucketCounts: Sendable {
    static let copies = 4
    let counters = Counters<Int>(count: copies * HistogramCounter.bucketCount, zero: 0)

    @inline(__always)
    func add(bucket: Int, element j: Int) {
        counters.pointer[Int(Self.slot(bucket: Int32(truncatingIfNeeded: bucket), element: j))] &+= 1
    }

    /// The counter that element `j` of a block counts in for `bucket`: what the kernels
    /// store, so that tallying a block is one increment per element (`add(slots:count:)`).
    @inline(__always)
    static func slot(bucket: Int32, element j: Int) -> Int32 {
        Int32(truncatingIfNeeded: j & (copies - 1)) &* Int32(HistogramCounter.bucketCount) &+ bucket
    }

    /// Counts the elements whose counters are `slots[0 ..< count]`.
    @inline(__always)
    func add(slots: UnsafePointer<Int32>, count: Int) {
        for j in 0..<count { counters.pointer[Int(slots[j])] &+= 1 }
    }

    /// Adds `count` elements to `bucket` at once.
    func add(bucket: Int, count: Int) { counters.pointer[bucket] += count }

    func add(_ other: BucketCounts) {
        for j in 0..<counters.count { counters.pointer[j] += other.counters.pointer[j] }
    }

    /// The counts as a histogram, with `nonFinite` elements off the scale.
    func histogram(nonFinite: Int, beyondLimit: Int) -> HistogramCounter {
        let n = HistogramCounter.bucketCount
        var totals = [Int](repeating: 0, count: n)
        for copy in 0..<Self.copies {
            for j in 0..<n { totals[j] += counters.pointer[copy * n + j] }
        }
        var histogram = HistogramCounter()
        totals.withUnsafeBufferPointer { histogram.add(buckets: $0, nonFinite: nonFinite) }
        histogram.beyondLimit = beyondLimit
        return histogram
    }
}

/// The counting side of `ErrorHistogram`: a fixed array of counters, updated in the scan.
///
/// Bucket 0 holds exact results, bucket 1 the interval (0, 1], bucket j >= 2 the
/// interval (2^(j-2), 2^(j-1)]; the last bucket is open-ended. 65 buckets reach past 2^62,
/// enough for any ULP distance between doubles.
struct HistogramCounter: Sendable {
    static let bucketCount = 65
    private(set) var counts = [Int](repeating: 0, count: HistogramCounter.bucketCount)
    private(set) var nonFinite = 0
    var beyondLimit = 0

    @inline(__always)
    mutating func add(ulp distance: UInt64) {
        counts[Self.bucket(ulp: distance)] += 1
    }

    /// Adds counts gathered elsewhere, bucket by bucket (`buckets.count` is `bucketCount`).
    mutating func add(buckets: UnsafeBufferPointer<Int>, nonFinite: Int) {
        for j in counts.indices { counts[j] += buckets[j] }
        self.nonFinite += nonFinite
    }

    /// Adds a real-valued error (u*scale units); NaN and infinity go to `nonFinite`.
    @inline(__always)
    mutating func add(error: Double) {
        guard error.isFinite else {
            nonFinite += 1
            return
        }
        counts[Self.bucket(error: error)] += 1
    }

    @inline(__always)
    mutating func addNonFinite() { nonFinite += 1 }

    @inline(__always)
    static func bucket(ulp distance: UInt64) -> Int {
        if distance == 0 { return 0 }
        // ceil(log2(d)) from the bit length of d - 1.
        let ceilLog2 = UInt64.bitWidth - (distance - 1).leadingZeroBitCount
        return min(1 + ceilLog2, bucketCount - 1)
    }

    @inline(__always)
    static func bucket(error: Double) -> Int {
        // Branch-free, since errors straddle 1 at random: 1 + ceil(log2(error)) from
        // the bits of a positive finite error (a subnormal one has exponent -1023 and a
        // nonzero fraction, so it lands in bucket 1 with everything up to 1).
        let bits = error.bitPattern
        let fraction = bits & ((1 << Double.significandBitCount) - 1)
        let ceilLog2 = Int(bits >> Double.significandBitCount) - 1023 + (fraction != 0 ? 1 : 0)
        let bucket = 1 + min(max(ceilLog2, 0), bucketCount - 2)
        return error > 0 ? bucket : 0
    }

    /// `bucket(ulp:)` without branches, for the kernels' loops: the bit length of
    /// `d - 1` read off the exponent of an exact conversion to double (a 32-bit half of
    /// it placed in the fraction of 2^52, then 2^52 taken away), of its high half when
    /// that is not zero.
    @inline(__always)
    static func bucketWithoutBranches(ulp distance: UInt64) -> Int32 {
        let less = distance &- 1
        let high = less >> 32
        let part = high != 0 ? high : less & 0xFFFF_FFFF
        let exact = Double(bitPattern: part | 0x4330_0000_0000_0000) - 0x1p52
        let exponent = Int(truncatingIfNeeded: exact.bitPattern >> 52)
        let bitLength = (part == 0 ? 0 : exponent &- 1022) &+ (high != 0 ? 32 : 0)
        let bucket = bitLength &+ 1 < bucketCount - 1 ? bitLength &+ 1 : bucketCount - 1
        return distance == 0 ? 0 : Int32(truncatingIfNeeded: bucket)
    }

    /// `bucket(ulp:)` without branches for a distance below 2^32, in 32-bit arithmetic
    /// (eight to a register): 1 + the bit length of `d - 1`, which is one more than that
    /// of its top 31 bits, read off the exponent of their float32 conversion (exact in
    /// the exponent: with the bit below the leading one cleared, the conversion cannot
    /// round up to the next power of two).
    @inline(__always)
    static func bucketWithoutBranches(ulp32 distance: UInt32) -> Int32 {
        let less = distance &- 1
        let half = less >> 1
        let kept = half & ~(half >> 1)
        let exponent = Int32(bitPattern: Float(Int32(bitPattern: kept)).bitPattern >> 23)
        let bitLength = half == 0 ? Int32(bitPattern: less) : exponent &- 125
        return distance == 0 ? 0 : bitLength &+ 1
    }

    static func upperBound(ofBucket j: Int) -> Double {
        if j == 0 { return 0 }
        if j == bucketCount - 1 { return .infinity }
        return Double(sign: .plus, exponent: j - 1, significand: 1)
    }

    func histogram(unit: String, limitLabel: String) -> ErrorHistogram {
        let last = counts.lastIndex(where: { $0 > 0 }) ?? 0
        let buckets = (0...last).map { j in
            ErrorHistogram.Bucket(
                lowerBound: j == 0 ? 0 : Self.upperBound(ofBucket: j - 1),
                upperBound: Self.upperBound(ofBucket: j),
                count: counts[j])
        }
        return ErrorHistogram(
            unit: unit, buckets: buckets, nonFinite: nonFinite,
            beyondLimit: beyondLimit, limitLabel: limitLabel)
    }
}
