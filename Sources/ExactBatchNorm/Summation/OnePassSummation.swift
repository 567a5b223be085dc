/// The four exact sums of a contiguous run of float16 or float32 data, in integers.
///
/// ``BlockSummation`` is general: it widens each quantity into scratch memory and
/// extracts it level by level in floating point, streaming the block through L1 about a
/// dozen times. Data of at most 24 significant bits allow a cheaper scheme, because the
/// levels each quantity needs are known in advance and the partial sums can be kept as
/// integers rather than as doubles.
///
/// The level. Let `v` be a value with `|v| < 2^(k-2)` and `B = 1.5 * 2^k`. Then
/// `t = fl(B + v)` lies in `[2^k, 2^(k+1))`, a single binade, so `t`'s bit pattern minus
/// `B`'s is `q / 2^(k-52)` where `q = t - B` is `v` rounded to a multiple of the quantum
/// `2^(k-52)`. Summing the bit patterns as 64-bit integers sums the `q` exactly (each is
/// below 2^51 quanta; a run has at most 4096 values), and `q == v` whenever `v` is a
/// multiple of the quantum. Only the addition is floating point; the sums run on the
/// integer units.
///
/// The choice of `k`. With `k` three above the exponent of a run's largest magnitude,
/// the quantum is 2^-49 of that magnitude. A nonzero float16 or float32 value `v` is a
/// multiple of `2^(e-23)` where `e` is its exponent (subnormals of even coarser steps),
/// so it is a multiple of the quantum whenever `e` is at most 26 below the largest's:
/// a survey of each run's largest and smallest nonzero magnitudes decides that before
/// any sum. A product `x*x` or `x*dout` (up to 48 bits) takes a second level on the
/// residual `r = p - q` (exact, and at most half a quantum), with its own `k` 50 below
/// and a quantum of 2^-99 of the largest product. When both factors' runs span at most
/// 26 binades, a product is a multiple of `2^(ex+ed-46)` with `ex + ed` at most 52 below
/// the largest product's exponent plus one, so the second level holds it exactly too.
///
/// A run that spans more binades, or holds a non-finite value, adds nothing, and the
/// caller takes the general path for it. Otherwise the integer sums, scaled by their
/// quanta, are the exact sums; `OnePassSummationTests` checks them against one-by-one
/// exact accumulation, at the 26-binade edge included.
enum OnePassSummation {
    typealias Lanes = SIMD4<Double>
    typealias Words = SIMD4<Int64>

    /// The longest run taken at once: its integer sums stay below 2^63 (each value is
    /// below 2^50 quanta) with room to spare.
    static let maxCount = 4096

    /// Whether this path can serve data of type `X` laid out with `stride`.
    static func applies<X: BatchNormFloat>(_: X.Type, stride: Int) -> Bool {
        stride == 1 && ChannelSummation.productsAreExactInDouble(X.self)
    }

    /// One level: the offset `B = 1.5 * 2^k` and the exponent of its quantum.
    struct Level {
        let offset: Double
        let quantumExponent: Int

        /// The level for magnitudes below `2^(k-2)`; nil where `B` or its quantum would
        /// leave the normal range.
        init?(k: Int) {
            guard k <= 1000, k - 52 >= -1000 else { return nil }
            offset = 1.5 * Double(bitPattern: UInt64(k + 1023) << 52)
            quantumExponent = k - 52
        }

        /// The level that holds values of magnitude up to `largest` (nonzero, finite).
        /// (The exponent from the bit pattern: `largest` is a normal double, as every
        /// float16, bfloat16 and float32 value is once widened.)
        init?(largest: Double) { self.init(k: OnePassSummation.binade(largest) + 3) }

        /// The level that holds the residuals of `self`: at most half its quantum, so
        /// below `2^(k'-2)` for `k'` two above the quantum's exponent.
        var next: Level? { Level(k: quantumExponent + 2) }

        var offsetBits: Int64 { Int64(bitPattern: offset.bitPattern) }
    }

    /// An exact sum as `significand * 2^exponent`.
    struct Part {
        var significand: Int64
        var exponent: Int
    }

    /// Where one channel's values lie: `planes` runs of `count` values each, the
    /// first at the elements given and each next one `stride` elements on. One run
    /// (`planes == 1`) is a channels-first plane or a slice of one; several are the
    /// same channel's small planes across a batch, taken as one run so that the fixed
    /// cost of a run (its survey, levels and six accumulator additions) is paid once per
    /// channel rather than once per plane. The values are summed the same way wherever
    /// they lie: the analysis above asks only that all of them fit the levels and that
    /// there be at most ``maxCount`` in all.
    struct Planes {
        let count: Int
        var planes = 1
        var stride = 0

        var total: Int { count &* planes }

        /// Calls `body` with the offset of each plane's first element.
        @inline(__always)
        func forEach(_ body: (Int) -> Void) {
            var offset = 0
            for _ in 0..<planes {
                body(offset)
                offset &+= stride
            }
        }
    }

    /// The exponent of a positive normal double, from its bit pattern (every float16,
    /// bfloat16 and float32 value is normal once widened); `Double.exponent` is a call.
    @inline(__always)
    static func binade(_ v: Double) -> Int { Int((v.bitPattern >> 52) & 0x7FF) - 1023 }

    @inline(__always)
    static func bits(_ v: Lanes) -> Words { unsafeBitCast(v, to: Words.self) }

    @inline(__always)
    static func load<X: BatchNormFloat>(_ e: Elements<X>, _ k: Int) -> Lanes {
        X.widened(e.base.loadUnaligned(fromByteOffset: k &* MemoryLayout<X>.stride, as: SIMD4<X>.self))
    }

    /// A run's largest and smallest nonzero magnitudes (0 and 0 if all are zero).
    struct Magnitudes {
        var largest: Double
        var smallest: Double

        /// Whether every nonzero value is within 26 binades of the largest: then each
        /// is a multiple of the first level's quantum (see the type's notes), and the
        /// products of two such runs are multiples of the second level's.
        var fitLevels: Bool {
            largest == 0 || OnePassSummation.binade(largest) - OnePassSummation.binade(smallest) <= 26
        }
    }

    /// The magnitudes of every plane's values together, or nil if one is not finite:
    /// whole groups of eight in lanes, the rest one by one. The lanes are folded once
    /// for all the planes: a 7x7 plane is six groups and a value, and with the lanes
    /// folded per plane the survey took 45% of the sums' time on (4,512,7,7).
    @inline(__always)
    static func survey<X: BatchNormFloat>(_ e: Elements<X>, planes: Planes) -> Magnitudes? {
        if X.self == Float.self { return surveyFloat32(e.base, planes: planes) }
        // `v * 0` is NaN exactly for NaN and infinities.
        var largest = SIMD8<Double>(repeating: 0), smallest = SIMD8<Double>(repeating: .infinity)
        var probe = largest
        var m = 0.0, low = Double.infinity, p = 0.0
        let count = planes.count, whole = count & ~7
        planes.forEach { offset in
            let plane = e + offset
            var k = 0
            while k < whole {
                let v = X.widened(
                    plane.base.loadUnaligned(fromByteOffset: k &* MemoryLayout<X>.stride, as: SIMD8<X>.self))
                let magnitude = v.replacing(with: -v, where: v .< 0)
                largest = largest.replacing(with: magnitude, where: magnitude .> largest)
                let nonzero = magnitude.replacing(with: .infinity, where: magnitude .== 0)
                smallest = smallest.replacing(with: nonzero, where: nonzero .< smallest)
                probe += v * 0
                k &+= 8
            }
            while k < count {
                let v = plane[k].exactDouble, magnitude = v.magnitude
                m = Swift.max(m, magnitude)
                if magnitude != 0 { low = Swift.min(low, magnitude) }
                p += v * 0
                k &+= 1
            }
        }
        for lane in 0..<8 {
            m = Swift.max(m, largest[lane])
            low = Swift.min(low, smallest[lane])
            p += probe[lane]
        }
        return p.isNaN ? nil : Magnitudes(largest: m, smallest: low.isFinite ? low : 0)
    }

    /// The same for float32, on bit patterns: without the sign bit, the encodings of
    /// non-negative floats order as the values do, and every encoding at or above
    /// infinity's is infinity or NaN. Subtracting one (wrapping) sends zero to the top,
    /// so an unsigned minimum finds the smallest nonzero. Four integer operations per
    /// eight values.
    @inline(__always)
    static func surveyFloat32(_ base: UnsafeRawPointer, planes: Planes) -> Magnitudes? {
        var high = SIMD8<UInt32>(repeating: 0), low = SIMD8<UInt32>(repeating: .max)
        var top: UInt32 = 0, bottom = UInt32.max
        let count = planes.count, whole = count & ~7
        planes.forEach { offset in
            let plane = base + offset &* 4
            var k = 0
            while k < whole {
                let v = plane.loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<UInt32>.self) & 0x7FFF_FFFF
                high = high.replacing(with: v, where: v .> high)
                let shifted = v &- 1
                low = low.replacing(with: shifted, where: shifted .< low)
                k &+= 8
            }
            while k < count {
                let v = plane.loadUnaligned(fromByteOffset: k &* 4, as: UInt32.self) & 0x7FFF_FFFF
                top = Swift.max(top, v)
                bottom = Swift.min(bottom, v &- 1)
                k &+= 1
            }
        }
        for lane in 0..<8 {
            top = Swift.max(top, high[lane])
            bottom = Swift.min(bottom, low[lane])
        }
        guard top < 0x7F80_0000 else { return nil }
        return Magnitudes(
            largest: Double(Float(bitPattern: top)),
            smallest: bottom == .max ? 0 : Double(Float(bitPattern: bottom &+ 1)))
    }

    /// Adds the run's `S` and `Q` (and `T` and `P` with `dout`) to `sums` and returns
    /// true, or returns false having added nothing. Any count from 1 to ``maxCount``:
    /// whole groups of eight go through the lanes, the rest one by one on the same
    /// levels (a 7x7 plane leaves one value).
    @inline(__always)
    static func accumulate<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, count: Int,
        into sums: inout ChannelSums
    ) -> Bool {
        accumulate(x: x, dout: dout, planes: Planes(count: count), into: &sums)
    }

    /// The same for values in several planes, taken as one run (``Planes``): at most
    /// ``maxCount`` values in all.
    @inline(__always)
    static func accumulate<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, planes: Planes,
        into sums: inout ChannelSums
    ) -> Bool {
        guard planes.count > 0, planes.planes > 0, planes.total <= maxCount,
            sums.xTally.isFinite, sums.doutTally.isFinite,
            let xRange = survey(x, planes: planes), xRange.fitLevels,
            let xSums = sumWithProducts(
                x, x, planes: planes, largest: xRange.largest,
                productLargest: xRange.largest * xRange.largest)
        else { return false }
        guard let dout else {
            add(xSums, into: &sums.x, &sums.xx)
            return true
        }
        // The second sweep pairs dout with x again, which is still in L1.
        guard let dRange = survey(dout, planes: planes), dRange.fitLevels,
            let dSums = sumWithProducts(
                dout, x, planes: planes, largest: dRange.largest,
                productLargest: xRange.largest * dRange.largest)
        else { return false }
        add(xSums, into: &sums.x, &sums.xx)
        add(dSums, into: &sums.dout, &sums.xDout)
        return true
    }

    @inline(__always)
    static func add(
        _ parts: (values: Part, products: Part, productResiduals: Part),
        into values: inout ExactAccumulator, _ products: inout ExactAccumulator
    ) {
        values.add(significand: Int128(parts.values.significand), exponent: parts.values.exponent)
        products.add(significand: Int128(parts.products.significand), exponent: parts.products.exponent)
        products.add(
            significand: Int128(parts.productResiduals.significand),
            exponent: parts.productResiduals.exponent)
    }

    /// The exact sums of `v` (one level) and of `v*w` (two levels). `w` is `v` itself,
    /// or `x` when `v` is `dout`; both must fit the levels (``Magnitudes/fitLevels``),
    /// which is what makes every cut exact without checking it here. Nil only where a
    /// level would leave the comfortable middle of the double range.
    @inline(__always)
    static func sumWithProducts<X: BatchNormFloat>(
        _ v: Elements<X>, _ w: Elements<X>, planes: Planes,
        largest: Double, productLargest: Double
    )
        -> (values: Part, products: Part, productResiduals: Part)?
    {
        let zero = Part(significand: 0, exponent: 0)
        // All of v is zero, so every product is.
        guard largest != 0 else { return (zero, zero, zero) }
        guard let level = Level(largest: largest) else { return nil }
        if productLargest == 0 {
            // All of w is zero: only v's own sum.
            return (sum(v, planes: planes, level: level), zero, zero)
        }
        guard let p1 = Level(largest: productLargest), let p2 = p1.next else { return nil }
        return sumWithProducts(v, w, planes: planes, levels: (level, p1, p2))
    }

    /// The sum of `v` on one level.
    @inline(__always)
    static func sum<X: BatchNormFloat>(_ v: Elements<X>, planes: Planes, level: Level) -> Part {
        let offset = Lanes(repeating: level.offset)
        let whole = planes.count & ~7
        var sum = Words(repeating: 0)
        var tail: Int64 = 0
        planes.forEach { start in
            let v = v + start
            var k = 0
            while k < whole {
                sum &+= bits(offset + load(v, k))
                k &+= Lanes.scalarCount
            }
            while k < planes.count {
                tail &+= Int64(bitPattern: (level.offset + v[k].exactDouble).bitPattern)
                k &+= 1
            }
        }
        return total(sum, tail: tail, count: planes.total, level)
    }

    /// The loops of ``sumWithProducts(_:_:planes:largest:productLargest:)`` once its
    /// levels are known: the values' level and the products' two.
    @inline(__always)
    static func sumWithProducts<X: BatchNormFloat>(
        _ v: Elements<X>, _ w: Elements<X>, planes: Planes,
        levels: (Level, Level, Level)
    )
        -> (values: Part, products: Part, productResiduals: Part)
    {
        let (level, p1, p2) = levels
        let offset = Lanes(repeating: level.offset)
        let offset1 = Lanes(repeating: p1.offset), offset2 = Lanes(repeating: p2.offset)
        var sum = Words(repeating: 0), sum1 = sum, sum2 = sum
        var tail: Int64 = 0, tail1: Int64 = 0, tail2: Int64 = 0
        let count = planes.count, whole = count & ~7
        planes.forEach { start in
            let v = v + start, w = w + start
            @inline(__always)
            func step(_ k: Int) {
                let a = load(v, k), b = load(w, k)
                sum &+= bits(offset + a)
                let p = a * b
                let t1 = offset1 + p
                sum1 &+= bits(t1)
                sum2 &+= bits(offset2 + (p - (t1 - offset1)))
            }
            // Two lanes' worth per trip halves the loop's own instructions.
            var k = 0
            while k < whole {
                step(k)
                step(k &+ 4)
                k &+= 8
            }
            // The same steps one value at a time.
            while k < count {
                let a = v[k].exactDouble, b = w[k].exactDouble
                tail &+= Int64(bitPattern: (level.offset + a).bitPattern)
                let p = a * b
                let t1 = p1.offset + p
                tail1 &+= Int64(bitPattern: t1.bitPattern)
                tail2 &+= Int64(bitPattern: (p2.offset + (p - (t1 - p1.offset))).bitPattern)
                k &+= 1
            }
        }
        let n = planes.total
        return (
            total(sum, tail: tail, count: n, level), total(sum1, tail: tail1, count: n, p1),
            total(sum2, tail: tail2, count: n, p2)
        )
    }

    /// The lanes' integer sums less `count` offsets, in quanta: exact, because the true
    /// total is far inside Int64 and wrapping arithmetic is exact modulo 2^64.
    @inline(__always)
    static func total(_ sums: Words, tail: Int64, count: Int, _ level: Level) -> Part {
        let s = ((sums[0] &+ sums[1]) &+ (sums[2] &+ sums[3])) &+ tail
        return Part(significand: s &- Int64(count) &* level.offsetBits, exponent: level.quantumExponent)
    }
}
